"""The single-node KRaft broker's ``server.properties``, as pure functions.

Settings favour a fast start and a faithful contract for development and tests: one node that is both broker
and controller, replication factor 1 everywhere, no topic auto-creation (the project creates every topic it
uses), no initial rebalance delay, a small ``__consumer_offsets`` so the group coordinator loads quickly.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from pathlib import Path

__all__ = ["broker_properties", "listener_port", "new_cluster_id", "parse_properties", "render_properties"]


def broker_properties(*, log_dir: Path, host: str, port: int, controller_port: int) -> dict[str, str]:
    """``server.properties`` for a combined broker+controller on ``host:port`` (controller on ``controller_port``)."""
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        # A static voter set: `StorageTool format` must then be run without --standalone.
        "controller.quorum.voters": f"1@{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(log_dir),
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "group.initial.rebalance.delay.ms": "0",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Topics a test deletes should vanish quickly rather than linger as "marked for deletion".
        "delete.topic.enable": "true",
        "log.segment.delete.delay.ms": "1000",
    }


def render_properties(props: Mapping[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in props.items())


def parse_properties(text: str) -> dict[str, str]:
    """A ``key=value`` file; blank lines and ``#`` comments skipped (no escapes or continuations: we write it)."""
    pairs = (
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.lstrip().startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def listener_port(props: Mapping[str, str], name: str = "PLAINTEXT") -> tuple[str, int] | None:
    """``(host, port)`` of listener ``name`` in ``advertised.listeners`` (falling back to ``listeners``)."""
    spec = props.get("advertised.listeners") or props.get("listeners", "")
    for listener in spec.split(","):
        label, _, address = listener.strip().partition("://")
        host, _, port = address.rpartition(":")
        if label == name and port.isdigit():
            return host, int(port)
    return None


def new_cluster_id() -> str:
    """A Kafka cluster id, as ``StorageTool random-uuid`` makes it, without starting a JVM for it."""
    while True:
        raw = uuid.uuid4().bytes
        text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        # Kafka reserves the all-zero and metadata-topic ids and rejects ids that start with "-".
        if not text.startswith("-") and raw not in (bytes(16), bytes(15) + b"\x01"):
            return text
