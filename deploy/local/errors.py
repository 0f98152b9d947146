"""Why a local Kafka could not be provisioned, started or stopped.

::

    LocalKafkaError            base; the message says what to do
    ├── ToolMissing            java (>= 17) or mvn not found / too old
    ├── FetchFailed            Maven could not fetch the Kafka jars
    ├── PortInUse              the requested port is taken by something else
    └── BrokerFailed           the broker exited or did not answer in time (message carries its log tail)
"""

from __future__ import annotations

__all__ = ["BrokerFailed", "FetchFailed", "LocalKafkaError", "PortInUse", "ToolMissing"]


class LocalKafkaError(RuntimeError):
    """A local Kafka broker could not be provisioned, started or stopped."""


class ToolMissing(LocalKafkaError):
    """A required tool (java >= 17, mvn) is missing or too old."""


class FetchFailed(LocalKafkaError):
    """Maven could not fetch the Kafka jars."""


class PortInUse(LocalKafkaError):
    """The requested listener port is already bound by another process."""


class BrokerFailed(LocalKafkaError):
    """The broker process exited, or did not answer before the deadline."""
