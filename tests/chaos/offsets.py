"""The workers' commit point as the broker holds it: committed offset and end offset per partition."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

__all__ = ["PartitionOffsets", "group_offsets"]


@dataclass(frozen=True)
class PartitionOffsets:
    topic: str
    partition: int
    committed: int | None  # None: nothing committed
    end: int

    @property
    def behind(self) -> int:
        return self.end - (self.committed or 0)


def group_offsets(
    bootstrap: str, group: str, topics: Sequence[str], partitions: int, timeout: float = 10.0
) -> list[PartitionOffsets]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    wanted = [TopicPartition(t, p) for t in topics for p in range(partitions)]
    request = ConsumerGroupTopicPartitions(group, wanted)
    listed = admin.list_consumer_group_offsets([request], request_timeout=timeout)[group].result(timeout)
    committed = {(tp.topic, tp.partition): tp.offset for tp in listed.topic_partitions}
    latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
    ends = admin.list_offsets({tp: latest for tp in wanted}, request_timeout=timeout)
    found = []
    for tp, future in ends.items():
        offset = committed.get((tp.topic, tp.partition), -1)
        found.append(
            PartitionOffsets(
                tp.topic, tp.partition, offset if offset >= 0 else None, future.result(timeout).offset
            )
        )
    return sorted(found, key=lambda o: (o.topic, o.partition))
