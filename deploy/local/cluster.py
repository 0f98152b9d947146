"""A local KRaft cluster of several nodes (each broker and controller, one JVM each) on free loopback ports.

For tests of what only a cluster shows: replication, ``min.insync.replicas``, a broker stopped and started
again under load. Three nodes make a quorum that survives one node down (two of three voters) and replicate
every topic three ways with ``min.insync.replicas=2`` (see :func:`deploy.local.config.broker_properties`).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from deploy.local.broker import DEFAULT_KAFKA_VERSION, LocalKafka
from deploy.local.config import new_cluster_id
from deploy.local.errors import BrokerFailed
from deploy.local.ports import free_ports

__all__ = ["LocalCluster", "start_cluster"]

_QUIET = logging.getLogger("deploy.local.cluster.librdkafka")
_QUIET.propagate = False
_QUIET.addHandler(logging.NullHandler())


class LocalCluster:
    """``size`` nodes sharing one cluster id and voter set, each with its own data dir under ``base_dir``."""

    def __init__(
        self,
        base_dir: Path,
        *,
        size: int = 3,
        version: str = DEFAULT_KAFKA_VERSION,
        cache_dir: Path | None = None,
        host: str = "127.0.0.1",
        heap: str = "384m",
    ) -> None:
        ports = free_ports(host, 2 * size)
        clients, controllers = ports[:size], ports[size:]
        voters = ",".join(f"{i + 1}@{host}:{port}" for i, port in enumerate(controllers))
        cluster_id = new_cluster_id()
        self.base_dir = base_dir
        self.nodes = [
            LocalKafka(
                version=version,
                data_dir=base_dir / f"node-{i + 1}",
                cache_dir=cache_dir,
                host=host,
                port=clients[i],
                controller_port=controllers[i],
                heap=heap,
                die_with_parent=True,
                node_id=i + 1,
                voters=voters,
                cluster_id=cluster_id,
            )
            for i in range(size)
        ]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap_servers for node in self.nodes)

    def __enter__(self) -> LocalCluster:
        self.up()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.down(wipe=True)

    def up(self, timeout: float = 120.0) -> None:
        """Start every node (a node waits for its quorum, so all are started before any is awaited)."""
        for node in self.nodes:
            node.up(wait=False)
        for node in self.nodes:
            node.wait_ready(timeout)
        self.wait_brokers(len(self.nodes), timeout)

    def down(self, wipe: bool = False) -> None:
        """Stop every node at once: one by one, the last ones wait for a quorum that has already gone."""
        stopping = [threading.Thread(target=node.down, daemon=True) for node in self.nodes]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        if wipe:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def stop_node(self, index: int) -> None:
        """Stop one node cleanly (SIGTERM: it hands its partitions' leadership over first)."""
        self.nodes[index].down()

    def kill_node(self, index: int) -> None:
        """Kill one node (SIGKILL: no controlled shutdown, as a crashed or evicted machine)."""
        node = self.nodes[index]
        pid = node.status().pid
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        node.down()  # reaps it and removes its pid file

    def start_node(self, index: int, timeout: float = 90.0) -> None:
        """Start a stopped node again on its own data: it catches up from the other replicas."""
        self.nodes[index].up(wait=True, timeout=timeout)
        self.wait_brokers(len(self.nodes), timeout)

    def wait_brokers(self, count: int, timeout: float = 90.0) -> None:
        """Until the cluster's metadata lists ``count`` live brokers."""
        admin = AdminClient(self._conf())
        deadline = time.monotonic() + timeout
        while True:
            try:
                if len(admin.list_topics(timeout=2.0).brokers) >= count:
                    return
            except KafkaException:
                pass
            if time.monotonic() > deadline:
                tails = "\n".join(node.log_tail(10) for node in self.nodes)
                raise BrokerFailed(f"the cluster did not show {count} brokers within {timeout:.0f}s\n{tails}")
            time.sleep(0.2)

    def _conf(self) -> dict[str, Any]:
        return {"bootstrap.servers": self.bootstrap_servers, "logger": _QUIET}


def start_cluster(size: int = 3, *, attempts: int = 3, timeout: float = 120.0) -> LocalCluster:
    """A started cluster with a fresh temporary base dir; retried when another process took a port first."""
    for attempt in range(1, attempts + 1):
        cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="pms-relay-cluster-")), size=size)
        try:
            cluster.up(timeout)
            return cluster
        except BrokerFailed as exc:
            cluster.down(wipe=True)
            if attempt == attempts or "Address already in use" not in str(exc):
                raise
        except BaseException:
            cluster.down(wipe=True)
            raise
    raise AssertionError("unreachable")
