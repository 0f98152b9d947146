"""The dashboard's view of Kafka, kept on one thread: the compacted status topic from its beginning, the last
alerts, the dead-letter topic's depth and newest letters (headers only), and the workers' group lag.

Every consumer here is *assigned* partitions and never subscribes, so it never joins a group: the workers'
group is only read, through the admin API. Lag in seconds is the age of the oldest unconsumed record of each
partition of ``pms.commands`` (a second consumer reads the one record at the group's committed offset).
Topics that do not exist yet (a cluster whose workers have not created ``pms.status``) are looked for again
on every probe.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from ops.dashboard.messages import parse_alert, parse_dead_letter, partition_lag
from ops.dashboard.records import parse_status
from ops.dashboard.settings import DashboardSettings
from ops.dashboard.state import ClusterState, DeadLetter, DeadLetters, GroupLag, PartitionLag
from streams.topics import TopicNames

__all__ = ["Feed", "assignment"]

_log = logging.getLogger(__name__)
_rdkafka_log = logging.getLogger("ops.dashboard.librdkafka")
_TIMEOUT = 10.0


class Feed:
    def __init__(self, settings: DashboardSettings, kafka_config: Mapping[str, Any]) -> None:
        self._settings = settings
        self._topics = TopicNames(prefix=settings.prefix)
        self._config = dict(kafka_config)
        self._state = ClusterState(alert_limit=settings.alert_limit)
        self._letters: dict[int, deque[DeadLetter]] = {}
        self._assigned: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dashboard-feed", daemon=True)
        self._last_probe: float | None = None
        self._probe_error: str | None = None
        self._status_caught_up = False

    # -- the Source protocol ---------------------------------------------------------------------------

    def snapshot(self) -> ClusterState:
        with self._lock:
            return self._state.copy()

    def health(self) -> dict[str, Any]:
        probed = self._last_probe is not None and time.monotonic() - self._last_probe < 60
        up = self._thread.is_alive() and probed and self._probe_error is None
        return {
            "status": "UP" if up else "DOWN",
            "components": {
                "kafka": {
                    "status": "UP" if probed and self._probe_error is None else "DOWN",
                    "details": {"error": self._probe_error},
                },
                "status_topic": {
                    "status": "UP" if self._status_caught_up else "DOWN",
                    "details": {"topic": self._settings.status_topic, "caught_up": self._status_caught_up},
                },
            },
        }

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)

    def wait_until_caught_up(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._status_caught_up and time.monotonic() < deadline:
            time.sleep(0.05)
        return self._status_caught_up

    # -- the thread ------------------------------------------------------------------------------------

    def _run(self) -> None:
        reader = self._consumer("reader")
        probe = self._consumer("probe")
        admin = AdminClient({**self._config, "logger": _rdkafka_log})  # type: ignore[dict-item]
        ends: dict[tuple[str, int], int] = {}
        next_probe = 0.0
        try:
            while not self._stop.is_set():
                if time.monotonic() >= next_probe:
                    self._probe(reader, probe, admin, ends)
                    next_probe = time.monotonic() + self._settings.lag_interval_s
                message = reader.poll(0.2)
                if message is None:
                    self._check_caught_up(reader, ends)
                    continue
                if message.error():
                    continue
                self._fold(message)
                where = (str(message.topic()), int(message.partition() or 0))
                if ends.get(where, 0) <= int(message.offset() or 0) + 1:
                    ends.pop(where, None)
                self._check_caught_up(reader, ends)
        except Exception:  # the page shows DOWN; the log says why
            _log.exception("dashboard feed stopped")
            raise
        finally:
            reader.close()
            probe.close()

    def _consumer(self, role: str) -> Consumer:
        return Consumer(
            {
                **self._config,
                "group.id": f"pms-relay-dashboard-{role}-{uuid.uuid4().hex[:8]}",  # never joined
                "enable.auto.commit": False,
                "enable.partition.eof": False,
                "logger": _rdkafka_log,
            }
        )

    def _check_caught_up(self, reader: Consumer, ends: dict[tuple[str, int], int]) -> None:
        status = self._settings.status_topic
        if status in self._assigned and not any(topic == status for topic, _ in ends):
            self._status_caught_up = True

    def _probe(
        self, reader: Consumer, probe: Consumer, admin: AdminClient, ends: dict[tuple[str, int], int]
    ) -> None:
        try:
            self._assign_new(reader, ends)
            depth = self._dead_letter_depth(reader)
            lag = self._group_lag(reader, probe, admin)
        except KafkaException as exc:
            self._probe_error = f"kafka: {exc.args[0].name() if exc.args else exc}"
            _log.warning("dashboard probe failed error=%s", self._probe_error)
            return
        self._probe_error = None
        self._last_probe = time.monotonic()
        with self._lock:
            self._state.lag = lag
            self._state.dead_letters = DeadLetters(depth, self._newest_letters())

    # -- assignment ------------------------------------------------------------------------------------

    def _assign_new(self, reader: Consumer, ends: dict[tuple[str, int], int]) -> None:
        """Assign each topic once it exists: status from the beginning, alerts and dead letters near their end.

        A topic is assigned, and marked so, as soon as its own offsets are known: a watermark request that
        fails for a later topic (a new topic's leader not elected yet) must not drop an earlier one's
        assignment, or the status topic is marked assigned but never read and the feed never catches up.
        """
        wanted = {
            self._settings.status_topic: None,
            self._topics.alerts: self._settings.alert_limit,
            self._topics.dead_letters: self._settings.dead_letter_limit,
        }
        for topic, tail in wanted.items():
            if topic in self._assigned:
                continue
            partitions = _partitions(reader, topic)
            if partitions is None:
                continue
            marks = {
                p: reader.get_watermark_offsets(TopicPartition(topic, p), timeout=_TIMEOUT)
                for p in partitions
            }
            starts, unread = assignment(marks, tail)
            reader.incremental_assign([TopicPartition(topic, p, o) for p, o in starts.items()])
            ends.update({(topic, p): high for p, high in unread.items()})
            self._assigned.add(topic)

    # -- folding ---------------------------------------------------------------------------------------

    def _fold(self, message: Any) -> None:
        topic = message.topic()
        if topic == self._settings.status_topic:
            record = parse_status(message.key(), message.value())
            with self._lock:
                self._state.apply(record)
        elif topic == self._topics.alerts:
            alert = parse_alert(message.value())
            if alert is not None:
                with self._lock:
                    self._state.add_alert(alert)
        else:
            _type, timestamp = message.timestamp()
            letter = parse_dead_letter(
                message.partition(), message.offset(), message.key(), message.headers(), timestamp
            )
            kept = self._letters.setdefault(letter.partition, deque(maxlen=self._settings.dead_letter_limit))
            kept.append(letter)
            with self._lock:
                self._state.dead_letters = DeadLetters(self._state.dead_letters.depth, self._newest_letters())

    def _newest_letters(self) -> tuple[DeadLetter, ...]:
        letters = [letter for kept in self._letters.values() for letter in kept]
        letters.sort(key=lambda d: (d.at or datetime.min.replace(tzinfo=UTC), d.offset), reverse=True)
        return tuple(letters[: self._settings.dead_letter_limit])

    # -- offsets ---------------------------------------------------------------------------------------

    def _dead_letter_depth(self, reader: Consumer) -> int:
        topic = self._topics.dead_letters
        partitions = _partitions(reader, topic) or []
        marks = [reader.get_watermark_offsets(TopicPartition(topic, p), timeout=_TIMEOUT) for p in partitions]
        return sum(high - low for low, high in marks)

    def _group_lag(self, reader: Consumer, probe: Consumer, admin: AdminClient) -> GroupLag:
        topic, group = self._topics.commands, self._settings.group
        partitions = _partitions(reader, topic)
        if partitions is None:
            return GroupLag(group, topic, error=f"no topic {topic}")
        committed = _committed(admin, group, topic, partitions)
        marks = {
            p: reader.get_watermark_offsets(TopicPartition(topic, p), timeout=_TIMEOUT) for p in partitions
        }
        oldest = _oldest_timestamps(probe, topic, _unconsumed(committed, marks))
        now = datetime.now(UTC)
        rows: list[PartitionLag] = [
            partition_lag(p, committed.get(p), marks[p][0], marks[p][1], oldest.get(p), now)
            for p in partitions
        ]
        return GroupLag(group, topic, tuple(rows))


def assignment(
    marks: Mapping[int, tuple[int, int]], tail: int | None
) -> tuple[dict[int, int], dict[int, int]]:
    """Where to start reading each partition (its beginning, or ``tail`` records before its end), and the end
    offset of each that holds records: the feed has caught up with a partition once it has read to there."""
    starts = {
        p: OFFSET_BEGINNING if tail is None else max(low, high - tail) for p, (low, high) in marks.items()
    }
    return starts, {p: high for p, (low, high) in marks.items() if high > low}


def _unconsumed(committed: Mapping[int, int | None], marks: Mapping[int, tuple[int, int]]) -> dict[int, int]:
    """The first unconsumed offset of each partition that has one (as :func:`partition_lag` counts)."""
    first = {}
    for partition, (low, high) in marks.items():
        done = committed.get(partition)
        start = low if done is None else max(done, low)
        if start < high:
            first[partition] = start
    return first


def _partitions(consumer: Consumer, topic: str) -> list[int] | None:
    metadata = consumer.list_topics(topic, timeout=_TIMEOUT).topics.get(topic)
    if metadata is None or metadata.error is not None or not metadata.partitions:
        return None
    return sorted(metadata.partitions)


def _committed(admin: AdminClient, group: str, topic: str, partitions: list[int]) -> dict[int, int | None]:
    """The group's committed offset per partition (None: nothing committed), without joining the group."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions])
    futures = admin.list_consumer_group_offsets([request], request_timeout=_TIMEOUT)
    answer = futures[group].result(timeout=_TIMEOUT)
    return {tp.partition: (tp.offset if tp.offset >= 0 else None) for tp in answer.topic_partitions}


def _oldest_timestamps(
    probe: Consumer, topic: str, offsets: Mapping[int, int], within: float = 3.0
) -> dict[int, int]:
    """The timestamp (ms) of the record at ``offsets[partition]``: the oldest one the group has not consumed."""
    if not offsets:
        return {}
    probe.assign([TopicPartition(topic, p, o) for p, o in offsets.items()])
    found: dict[int, int] = {}
    deadline = time.monotonic() + within
    try:
        while len(found) < len(offsets) and time.monotonic() < deadline:
            message = probe.poll(0.2)
            if message is None or message.error():
                continue
            partition = int(message.partition() or 0)
            _type, timestamp = message.timestamp()
            if partition not in found and timestamp > 0:
                found[partition] = timestamp
    finally:
        probe.unassign()
    return found
