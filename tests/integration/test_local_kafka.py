"""The session broker serves both clients the project uses, and the local broker's lifecycle holds up."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from deploy.local import LocalKafka, start_ephemeral
from deploy.local.errors import PortInUse
from tests.kafka_fixtures import TopicFactory

pytestmark = pytest.mark.integration


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(30):
        while True:
            if await check():
                return
            await asyncio.sleep(0.1)


def _consume(bootstrap: str, topic: str, group: str, count: int, timeout: float = 30.0) -> list[Any]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    messages: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None:
                assert message.error() is None, message.error()
                messages.append(message)
                consumer.commit(message, asynchronous=False)
    finally:
        consumer.close()
    return messages


def _committed(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        offsets = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    finally:
        consumer.close()
    return sum(max(tp.offset, 0) for tp in offsets)


def _read_to_end(bootstrap: str, topic: str, partitions: int, timeout: float = 30.0) -> list[Any]:
    """Every record now in ``topic``, in partition order: read each partition up to its high watermark."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False})
    try:
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(partitions)
        }
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        records: list[Any] = []
        positions = dict.fromkeys(ends, 0)
        deadline = time.monotonic() + timeout
        while any(positions[p] < ends[p] for p in ends) and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                records.append(message)
                positions[message.partition()] = message.offset() + 1
    finally:
        consumer.close()
    return records


def test_confluent_client_produces_and_consumes_in_a_group(
    kafka_bootstrap: str, topic_factory: TopicFactory, group_factory: Callable[[], str]
) -> None:
    topic, group = topic_factory("ck", partitions=3), group_factory()
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for i in range(12):
        producer.produce(topic, key=f"practice-{i % 4}", value=f"v{i}".encode())
    assert producer.flush(10) == 0

    messages = _consume(kafka_bootstrap, topic, group, 12)

    assert sorted(m.value() for m in messages) == sorted(f"v{i}".encode() for i in range(12))
    assert _committed(kafka_bootstrap, group, topic, 3) == 12


def test_factories_isolate_tests(topic_factory: TopicFactory, group_factory: Callable[[], str]) -> None:
    assert topic_factory() != topic_factory()
    assert group_factory() != group_factory()


async def test_faust_agent_with_table_consumes_commits_and_writes_changelog(
    kafka_bootstrap: str,
    kafka_admin: AdminClient,
    topic_factory: TopicFactory,
    group_factory: Callable[[], str],
) -> None:
    source, app_id = topic_factory("faust", partitions=2), group_factory()
    app = faust.App(
        app_id,
        broker=[f"kafka://{server}" for server in kafka_bootstrap.split(",")],
        store="memory://",
        web_enabled=False,
        topic_partitions=2,
        topic_replication_factor=1,
        broker_commit_interval=0.2,
    )
    topic = app.topic(source, key_type=str, value_type=str)
    counts = app.Table("counts", default=int, partitions=2)
    seen: list[str] = []

    @app.agent(topic)
    async def count(stream: Any) -> None:
        # Keyed by the message key, as commands are keyed by practice: a key's table entry then lives in
        # the changelog partition of the key's source partition (Faust's co-partitioning rule).
        async for key, value in stream.items():
            counts[key] += 1
            seen.append(value)

    changelog = f"{app_id}-counts-changelog"

    async def all_processed() -> bool:
        return len(seen) == 20

    async def all_committed() -> bool:
        return await asyncio.to_thread(_committed, kafka_bootstrap, app_id, source, 2) == 20

    async def changelog_has_final_counts() -> bool:
        # Faust sends changelog records asynchronously, so the last ones may land a little after processing.
        records = await asyncio.to_thread(_read_to_end, kafka_bootstrap, changelog, 2)
        return {json.loads(r.key()): json.loads(r.value()) for r in records} == {"odd": 10, "even": 10}

    await app.start()
    try:
        for i in range(20):
            await topic.send(key="odd" if i % 2 else "even", value=str(i))
        await _until(all_processed)
        await _until(all_committed)
        assert dict(counts.items()) == {"odd": 10, "even": 10}
        await _until(changelog_has_final_counts)
    finally:
        await app.stop()
        kafka_admin.delete_topics([changelog])


@pytest.mark.skipif(
    not (os.environ.get("JAVA_HOME") or shutil.which("java")) or not shutil.which("mvn"),
    reason="needs java and mvn to run a local broker",
)
def test_local_broker_lifecycle_seen_from_another_process() -> None:
    kafka = start_ephemeral()
    try:
        # A second handle on the same data dir stands for another process (the CLI, a second shell).
        other = LocalKafka(data_dir=kafka.data_dir, port=1, controller_port=2)
        status = other.status()
        assert status.running
        assert status.bootstrap_servers == kafka.bootstrap_servers
        assert other.up() is False  # idempotent: adopts the running broker
        assert other.bootstrap_servers == kafka.bootstrap_servers

        clash = LocalKafka(data_dir=kafka.data_dir / "clash", port=kafka.port)
        with pytest.raises(PortInUse, match=str(kafka.port)):
            clash.up()

        assert other.down() is True
        assert not kafka.status().running
        assert other.down() is False
    finally:
        kafka.down(wipe=True)
    assert not kafka.data_dir.exists()
