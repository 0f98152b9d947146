"""``pms-relay alerts run``: the loop that ties the feed, the leadership, the notifier and the deliveries.

One thread runs the loop (the notifier is not shared); the feed and each sink have their own. Every instance
keeps the fleet's state (the dashboard's feed) and publishes its ``alerts|<instance>`` status record; only the
leader (:mod:`ops.alerts.leader`) evaluates every ``evaluate_interval_s`` and sends. A batch's notices are
written to ``pms.alert-notices`` (and acknowledged) before it is handed to the sinks, and written again with
each sink's outcome.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer

from ops.alerts.conditions import evaluate
from ops.alerts.delivery import Deliveries, Outcome
from ops.alerts.leader import Leadership, group_id
from ops.alerts.notices import Notice, encode_notice
from ops.alerts.notifier import Notifier
from ops.alerts.settings import AlertSettings
from ops.alerts.status import ALERTS_TYPE, SinkFailure, alerts_key, service_record
from ops.dashboard.feed import Feed
from ops.dashboard.settings import DashboardSettings
from ops.dashboard.state import ClusterState
from streams.status import StatusRecord, encode
from streams.topics import TopicNames

__all__ = ["ALERTS_READY", "AlertService"]

# What the log says once the service has read the status topic and joined its group (tests wait for it).
ALERTS_READY = 'msg="alerts ready"'

_log = logging.getLogger(__name__)


class AlertService:
    def __init__(
        self,
        settings: AlertSettings,
        kafka_config: Mapping[str, Any],
        *,
        prefix: str = "",
        app_id: str = "pms-relay",
        instance_id: str | None = None,
        session_timeout_s: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._topics = TopicNames(prefix=prefix)
        self._clock = clock
        self.instance_id = instance_id or f"{socket.gethostname()}-{os.getpid()}"
        self._notifier = Notifier(settings)
        self._outcomes: queue.Queue[Outcome] = queue.Queue()
        self._failures: dict[str, SinkFailure] = {}
        self._seen_open: dict[str, datetime] = {}
        self._stop = threading.Event()
        self._feed = Feed(
            DashboardSettings(
                prefix=prefix,
                group=app_id,
                zipkin_url=settings.zipkin_url,
                lag_interval_s=settings.evaluate_interval_s,
                alert_limit=500,  # circuit transitions: where a record gives no circuit_since
                dead_letter_limit=200,  # per partition: counts of a larger burst are capped there
            ),
            kafka_config,
        )
        self._leadership = Leadership(
            self._topics.alert_notices,
            group_id(prefix),
            kafka_config,
            self._notifier.learn,
            session_timeout_s=session_timeout_s,
        )
        self._producer = Producer({**kafka_config, "acks": "all", "linger.ms": 5})
        self._deliveries = Deliveries(settings, self._outcomes.put)

    @property
    def leader(self) -> bool:
        return self._leadership.leader

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Until :meth:`stop`; then the queued sends go out (bounded) and the status record is withdrawn."""
        self._feed.start()
        self._deliveries.start()
        self._leadership.start()
        try:
            self._feed.wait_until_caught_up(30)
            _log.info(
                "alerts ready instance_id=%s sinks=%s group=%s",
                self.instance_id, ",".join(s.name for s in self._settings.sinks) or "-",
                group_id(self._topics.prefix),
            )  # fmt: skip
            self._loop()
        finally:
            self._leadership.close()
            self._deliveries.stop()
            self._drain_outcomes()
            self._publish_status(tombstone=True)
            self._producer.flush(10)
            self._feed.stop()

    def _loop(self) -> None:
        next_evaluation = next_status = 0.0
        while not self._stop.is_set():
            self._leadership.poll(0.2)
            self._drain_outcomes()
            if self._leadership.became_leader:
                self._leadership.became_leader = False
                for batch in self._notifier.unconfirmed():
                    self._deliveries.submit(batch)
            if time.monotonic() >= next_evaluation:
                next_evaluation = time.monotonic() + self._settings.evaluate_interval_s
                self._evaluate()
            if time.monotonic() >= next_status:
                next_status = time.monotonic() + self._settings.status_interval_s
                self._publish_status()

    def _evaluate(self) -> None:
        state, now = self._feed.snapshot(), self._clock()
        self._track_open(state, now)
        if not self.leader or not self._feed.wait_until_caught_up(0):
            return
        batches = self._notifier.step(evaluate(state, now, self._settings, self._seen_open), now)
        for batch in batches:
            self._record(batch.notices)
        if batches:
            self._producer.flush(10)  # recorded before sent: a new leader knows what may have gone out
        for batch in batches:
            self._deliveries.submit(batch)

    def _track_open(self, state: ClusterState, now: datetime) -> None:
        """When this instance first saw each circuit not closed: the fallback of ``open_since``."""
        for practice in state.practices.values():
            if practice.circuit == "closed":
                self._seen_open.pop(practice.practice_id, None)
            else:
                self._seen_open.setdefault(practice.practice_id, now)

    def _drain_outcomes(self) -> None:
        while True:
            try:
                outcome = self._outcomes.get_nowait()
            except queue.Empty:
                return
            self._apply(outcome)

    def _apply(self, outcome: Outcome) -> None:
        if not outcome.ok:
            first = outcome.batch.notices[0].key if outcome.batch.notices else ""
            self._failures[outcome.sink] = SinkFailure(outcome.reason or "?", self._clock(), first)
        updated = [self._notifier.delivered(n.key, outcome.sink, outcome.ok) for n in outcome.batch.notices]
        if self.leader:
            self._record([n for n in updated if n is not None])

    def _record(self, notices: Iterable[Notice]) -> None:
        for notice in notices:
            self._producer.produce(
                self._topics.alert_notices, key=notice.key.encode(), value=encode_notice(notice)
            )
        self._producer.poll(0)

    def _publish_status(self, *, tombstone: bool = False) -> None:
        now = self._clock()
        value = None
        if not tombstone:
            value = service_record(
                instance_id=self.instance_id,
                leader=self.leader,
                sinks=(s.name for s in self._settings.sinks),
                notices=self._notifier.notices.values(),
                failures=self._failures,
                now=now,
            )
        key, body, headers = encode(StatusRecord(alerts_key(self.instance_id), value, ALERTS_TYPE), now)
        self._producer.produce(self._topics.status, key=key, value=body, headers=list(headers))
        self._producer.poll(0)
