"""A real Kafka for the integration tests, and factories that keep every test on its own topics and groups.

Where the broker comes from, first match wins:

1. ``KAFKA_BOOTSTRAP_SERVERS`` is set: use that cluster (nothing is started or stopped).
2. A Docker engine answers a ping within ~2 s: a testcontainers ``KafkaContainer`` (KRaft mode).
3. Otherwise: :func:`deploy.local.start_ephemeral`, a broker on free ports with a temporary data dir (never
   the dev instance on 9092), so several pytest processes on one machine do not collide.

``PMS_RELAY_TEST_BROKER=local`` or ``=docker`` skips the detection and forces 3 or 2.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from deploy.local import start_ephemeral

__all__ = ["TopicFactory", "docker_available", "kafka_cluster", "unique_name"]

_DOCKER_IMAGE = os.environ.get("PMS_RELAY_KAFKA_IMAGE", "confluentinc/cp-kafka:7.9.0")


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def docker_available(timeout: float = 2.0) -> bool:
    """Whether a Docker engine answers now. Bounded: a missing or stuck engine must not hang the run."""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no socket, no permission, timeout, no SDK: all mean "no Docker"
        return False


@contextlib.contextmanager
def kafka_cluster() -> Iterator[str]:
    """Bootstrap servers of a broker for this test session; stops what it started on exit."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    forced = os.environ.get("PMS_RELAY_TEST_BROKER", "")
    if external and not forced:
        yield external
    elif forced == "docker" or (forced != "local" and docker_available()):
        with _container() as bootstrap:
            yield bootstrap
    else:
        kafka = start_ephemeral()
        try:
            yield kafka.bootstrap_servers
        finally:
            kafka.down(wipe=True)


@contextlib.contextmanager
def _container() -> Iterator[str]:
    from testcontainers.community.kafka import KafkaContainer

    container = (
        KafkaContainer(_DOCKER_IMAGE).with_kraft().with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
    )
    with container:
        yield container.get_bootstrap_server()


class TopicFactory:
    """``factory(prefix="t", partitions=1, config=None) -> name``: a fresh topic, ready for produce and
    consume when the call returns. ``cleanup()`` deletes what it created (matters on a shared cluster)."""

    def __init__(self, admin: AdminClient, timeout: float = 30.0) -> None:
        self._admin = admin
        self._timeout = timeout
        self.created: list[str] = []

    def __call__(
        self, prefix: str = "t", partitions: int = 1, config: Mapping[str, str] | None = None
    ) -> str:
        name = unique_name(prefix)
        topic = NewTopic(name, num_partitions=partitions, replication_factor=-1, config=dict(config or {}))
        self._admin.create_topics([topic], operation_timeout=self._timeout)[name].result(self._timeout)
        self.created.append(name)
        self._wait_leaders(name, partitions)
        return name

    def cleanup(self) -> None:
        if self.created:
            futures = self._admin.delete_topics(self.created, operation_timeout=10)
            for future in futures.values():
                with contextlib.suppress(KafkaException):
                    future.result(10)
            self.created.clear()

    def _wait_leaders(self, name: str, partitions: int) -> None:
        """Creation is acknowledged before every partition has a leader; clients racing that see
        UNKNOWN_TOPIC_OR_PART. Poll metadata until all partitions are led."""
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            topic = self._admin.list_topics(topic=name, timeout=5).topics.get(name)
            if topic is not None and topic.error is None and _all_led(topic.partitions, partitions):
                return
            time.sleep(0.05)
        raise TimeoutError(f"topic {name} not ready within {self._timeout}s")


def _all_led(partitions: Mapping[int, Any], expected: int) -> bool:
    return len(partitions) == expected and all(p.leader >= 0 and p.error is None for p in partitions.values())
