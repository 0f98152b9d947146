"""The platform's client SDK: send commands to pms-relay and await their answers (``client.relay``)."""

from client.relay import PMSRelayClient

__all__ = ["PMSRelayClient"]
