"""Who sends: the member of the alerting group that is assigned partition 0 of ``pms.alert-notices``.

Every instance subscribes to the one-partition notices topic with the group ``<prefix>pms-relay-alerts``;
Kafka's group protocol gives the partition to exactly one live member, and moves it when that member stops
or misses its session timeout. The assignee reads the topic from its beginning to its end (what was sent
before) and is then the leader: the only instance that evaluates and sends, and the only writer of notices.
While catching up it learns every notice; afterwards it ignores its own echoes (its memory is newer).

A leader that stalls past the session timeout can overlap its successor for the length of one send: that
notification may go out twice. Every sink dedups by key (PagerDuty's ``dedup_key``, Alertmanager's labels),
so this is at-least-once, never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from ops.alerts.notices import Notice, decode_notice

__all__ = ["Leadership", "group_id"]

_log = logging.getLogger(__name__)
_TIMEOUT = 10.0


def group_id(prefix: str) -> str:
    return f"{prefix}pms-relay-alerts"


class Leadership:
    """Polled from the service's loop (one thread): :meth:`poll` folds notices and tracks the assignment."""

    def __init__(
        self,
        topic: str,
        group: str,
        kafka_config: Mapping[str, Any],
        learn: Callable[[Notice], None],
        *,
        session_timeout_s: float = 10.0,
    ) -> None:
        self._topic = topic
        self._learn = learn
        self._consumer = Consumer(
            {
                **kafka_config,
                "group.id": group,
                "enable.auto.commit": False,  # the position is always "from the beginning"
                "session.timeout.ms": int(session_timeout_s * 1000),
                "heartbeat.interval.ms": max(500, int(session_timeout_s * 1000 / 5)),
                "logger": logging.getLogger("ops.alerts.librdkafka"),
            }
        )
        self._assigned = False
        self._end: int | None = None  # the high watermark to read up to; None once caught up
        self.became_leader = False  # set once per leadership, when caught up; the caller clears it

    @property
    def leader(self) -> bool:
        return self._assigned and self._end is None

    def start(self) -> None:
        self._consumer.subscribe([self._topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    def poll(self, timeout: float) -> None:
        message = self._consumer.poll(timeout)
        if message is not None and not message.error() and self._end is not None:
            notice = decode_notice(message.value())
            if notice is not None:
                self._learn(notice)
            if int(message.offset() or 0) + 1 >= self._end:
                self._caught_up()

    def close(self) -> None:
        self._consumer.close()  # leaves the group at once: the next member takes over without a timeout

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        mine = [p for p in partitions if p.topic == self._topic and p.partition == 0]
        if not mine:
            return
        low, high = consumer.get_watermark_offsets(TopicPartition(self._topic, 0), timeout=_TIMEOUT)
        consumer.assign([TopicPartition(self._topic, 0, OFFSET_BEGINNING)])
        self._assigned, self._end = True, high
        _log.info("alerts partition assigned topic=%s records=%d", self._topic, high - low)
        if high <= low:
            self._caught_up()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self._assigned:
            _log.info("alerts leadership revoked topic=%s", self._topic)
        self._assigned, self._end, self.became_leader = False, None, False

    def _caught_up(self) -> None:
        self._end = None
        self.became_leader = True
        _log.info("alerts leader topic=%s", self._topic)
