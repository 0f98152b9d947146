"""Reading a time range of a topic: offsets from timestamps, then every message between them, once.

The consumer is *assigned* its partitions, never subscribed: it joins no group (least of all the workers'),
commits nothing, and leaves no trace on the cluster. Its ``group.id`` is only there because librdkafka wants
one; it is fresh for every audit. Start and end offsets come from ``offsets_for_times`` and are fixed before
reading, so the report covers exactly the offsets its manifest names, whatever arrives meanwhile.

When the earliest offset still retained is the start of the range and offsets before it were deleted, the
range may begin before what the topic still holds: :attr:`PartitionRange.data_gone` says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

__all__ = ["PartitionRange", "RangeReader", "consumer_config"]

_BATCH = 10_000
_POLL = 0.2  # consume() waits this long unless the batch fills: short, or every range ends with a wait


@dataclass(frozen=True)
class PartitionRange:
    """The offsets ``[start, end)`` of one partition that a time range covers, and what the topic retains."""

    topic: str
    partition: int
    start: int
    end: int
    low: int  # the earliest offset still retained
    high: int

    @property
    def size(self) -> int:
        return max(0, self.end - self.start)

    @property
    def data_gone(self) -> bool:
        """Offsets before the range's start were deleted, and the range starts at the first one kept: what
        was deleted may have been inside the range."""
        return self.low > 0 and self.start <= self.low


def consumer_config(settings: dict[str, Any]) -> dict[str, Any]:
    """librdkafka settings of an audit consumer on top of the connection's ``settings``."""
    return {
        **settings,
        "group.id": f"pms-relay-audit-{uuid.uuid4().hex}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": False,
        "auto.offset.reset": "error",
        # Prefetch bounded in messages as well as bytes: librdkafka's default (100,000 messages per
        # partition) costs more memory than the audit's whole state for a day of traffic.
        "queued.min.messages": 20_000,
        "queued.max.messages.kbytes": 32 * 1024,
        "fetch.max.bytes": 16 * 1024 * 1024,
        "max.partition.fetch.bytes": 4 * 1024 * 1024,
    }


class RangeReader:
    def __init__(self, consumer: Consumer, timeout: float = 15.0) -> None:
        self._consumer = consumer
        self._timeout = timeout

    def plan(self, topic: str, start_ms: int, end_ms: int) -> list[PartitionRange]:
        """The offsets of ``topic`` whose timestamps may fall in ``[start_ms, end_ms)``, per partition."""
        metadata = self._consumer.list_topics(topic, timeout=self._timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise LookupError(f"no topic {topic} (check --prefix and --bootstrap-servers)")
        partitions = sorted(metadata.partitions)
        starts = self._offsets_at(topic, partitions, start_ms)
        ends = self._offsets_at(topic, partitions, end_ms)
        ranges = []
        for partition in partitions:
            low, high = self._consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=self._timeout
            )
            start = high if starts[partition] < 0 else starts[partition]
            end = high if ends[partition] < 0 else ends[partition]
            ranges.append(PartitionRange(topic, partition, max(start, low), max(end, low), low, high))
        return ranges

    def read(self, ranges: list[PartitionRange], progress: Callable[[int], None]) -> Iterator[list[Any]]:
        """Every message of ``ranges``, in batches (confluent-kafka ``Message`` lists), each partition in
        offset order; ``progress`` hears how many messages each batch held."""
        if len({r.topic for r in ranges}) > 1:
            raise ValueError("one topic at a time")
        ends = {r.partition: r.end for r in ranges if r.size}
        if not ends:
            return
        topic = ranges[0].topic
        assigned = [TopicPartition(r.topic, r.partition, r.start) for r in ranges if r.size]
        self._consumer.assign(assigned)
        try:
            while ends:
                batch = self._consumer.consume(_BATCH, timeout=_POLL)
                kept = _within(batch, ends) if batch else []
                if kept:
                    progress(len(kept))
                    yield kept
                self._finish(topic, ends, idle=not batch)
        finally:
            # librdkafka keeps a partition paused across assignments: the next range may read it again.
            self._consumer.resume(assigned)
            self._consumer.unassign()

    def _finish(self, topic: str, ends: dict[int, int], *, idle: bool) -> None:
        """Stop fetching the partitions read to their end. When nothing came, a partition may be at its end
        without its last offset ever arriving (a transaction marker or a compacted record sits there)."""
        done = {partition for partition, end in ends.items() if end <= 0}
        if idle:
            positions = self._consumer.position([TopicPartition(topic, p) for p in ends])
            done |= {tp.partition for tp in positions if tp.offset >= ends[tp.partition]}
        for partition in done:
            del ends[partition]
        if done:
            self._consumer.pause([TopicPartition(topic, p) for p in done])

    def _offsets_at(self, topic: str, partitions: list[int], instant_ms: int) -> dict[int, int]:
        asked = [TopicPartition(topic, p, max(instant_ms, 0)) for p in partitions]
        found = self._consumer.offsets_for_times(asked, timeout=self._timeout)
        return {tp.partition: tp.offset for tp in found}


def _within(batch: list[Any], ends: dict[int, int]) -> list[Any]:
    """The messages of ``batch`` before their partition's end; a partition read to its end gets end 0."""
    kept: list[Any] = []
    keep, get = kept.append, ends.get
    for message in batch:
        if message.error() is not None:
            raise KafkaException(message.error())
        partition = message.partition()
        end = get(partition, 0)
        offset = message.offset()
        if offset < end:
            keep(message)
            if offset == end - 1:
                ends[partition] = 0
    return kept
