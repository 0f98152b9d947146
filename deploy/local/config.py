"""A local KRaft node's ``server.properties``, as pure functions.

Settings favour a fast start and a faithful contract for development and tests: nodes that are both broker
and controller (one alone, or a quorum of several), replication as wide as the quorum (at most 3), no topic
auto-creation (the project creates every topic it uses), no initial rebalance delay, a small
``__consumer_offsets`` so the group coordinator loads quickly.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from pathlib import Path

from deploy.local.security import BrokerSecurity, security_properties
from deploy.local.security import listeners as secure_listeners

__all__ = ["broker_properties", "listener_port", "new_cluster_id", "parse_properties", "render_properties"]


def broker_properties(
    *,
    log_dir: Path,
    host: str,
    port: int,
    controller_port: int,
    node_id: int = 1,
    voters: str | None = None,
    security: BrokerSecurity | None = None,
) -> dict[str, str]:
    """``server.properties`` for a combined broker+controller on ``host:port`` (controller on ``controller_port``).

    ``voters`` (``"1@host:port,2@host:port,…"``) makes the node one of a KRaft quorum; alone it votes for itself.
    Replication follows the quorum's size (at most 3), with ``min.insync.replicas`` 2 from 3 replicas up: one
    broker may then be down while acks=all writes still succeed. ``security`` adds the secure listeners.
    """
    voters = voters or f"{node_id}@{host}:{controller_port}"
    replication = min(len(voters.split(",")), 3)
    min_isr = "2" if replication >= 3 else "1"
    layout = {"PLAINTEXT": ("PLAINTEXT", port)}
    if security is not None:
        layout |= secure_listeners(security)
    served = ",".join(f"{name}://{host}:{p}" for name, (_protocol, p) in layout.items())
    protocols = ",".join(f"{name}:{protocol}" for name, (protocol, _p) in layout.items())
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        # A static voter set: `StorageTool format` must then be run without --standalone.
        "controller.quorum.voters": voters,
        "listeners": f"{served},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": served,
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": f"CONTROLLER:PLAINTEXT,{protocols}",
        "log.dirs": str(log_dir),
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        "default.replication.factor": str(replication),
        "min.insync.replicas": min_isr,
        "group.initial.rebalance.delay.ms": "0",
        "offsets.topic.replication.factor": str(replication),
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": str(replication),
        "transaction.state.log.min.isr": min_isr,
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": str(replication),
        "share.coordinator.state.topic.min.isr": min_isr,
        # Topics a test deletes should vanish quickly rather than linger as "marked for deletion".
        "delete.topic.enable": "true",
        "log.segment.delete.delay.ms": "1000",
    }
    if replication > 1:
        # A killed node is fenced (and its partitions' leadership moved) after its broker session times out:
        # 3 s instead of 9 keeps a cluster test's failover short; nothing here is a long GC pause.
        props |= {"broker.session.timeout.ms": "3000", "broker.heartbeat.interval.ms": "1000"}
    if security is not None:
        props |= security_properties(security)
    return props


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
