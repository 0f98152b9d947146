"""Firing and resolved, once: the state machine between evaluations and deliveries.

Each evaluation's active alerts are compared with the notices known (this leader's, and those read from the
notices topic when it became leader):

- a new alert (no notice, or a resolved one) fires; a firing one is sent again every ``repeat_interval_s``;
  a firing notice whose alert is gone resolves. The same condition evaluated twice sends once.
- Grouping, as Alertmanager: notices of one group (``grouping.by``) wait ``wait_s`` after the group's first,
  then go out together; later changes to a group go out at most every ``interval_s``. An alert that fires
  and clears within the wait is never sent.
- Held: an alert of a silenced practice (a maintenance window), or one that ``platform_degraded`` suppresses,
  is neither fired nor resolved while held. When the hold ends it is reconciled like any other: fired if it
  still holds and was never sent, resolved if it was sent and is gone.

The notifier does no I/O: :meth:`step` returns the batches to record and send, and the caller reports each
sink's outcome through :meth:`delivered`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ops.alerts.conditions import ActiveAlert, Evaluation
from ops.alerts.notices import Delivered, Notice, Status
from ops.alerts.payloads import Batch, labels
from ops.alerts.settings import AlertSettings

__all__ = ["Notifier"]


@dataclass
class _Group:
    labels: dict[str, str]
    pending: dict[str, Notice] = field(default_factory=dict)
    first_pending_at: datetime | None = None
    last_sent_at: datetime | None = None


class Notifier:
    def __init__(self, settings: AlertSettings) -> None:
        self._settings = settings
        self._sinks = tuple(sink.name for sink in settings.sinks)
        self.notices: dict[str, Notice] = {}  # by dedup key: what was last recorded
        self._groups: dict[str, _Group] = {}

    def learn(self, notice: Notice) -> None:
        """A notice read from the topic (a previous leader's, or our own echo)."""
        self.notices[notice.key] = notice

    def unconfirmed(self) -> list[Batch]:
        """Notices recorded but not confirmed by some sink (the previous leader stopped mid-send): once more to
        those sinks. Refused ones (``failed``) are not retried."""
        batches = []
        for notice in self.notices.values():
            missing = tuple(s for s in self._sinks if s not in notice.delivered)
            if notice.last_sent_at is not None and missing:
                key, group_labels = self._group_of(notice)
                batches.append(Batch(key, group_labels, (notice,), missing))
        return batches

    def step(self, evaluation: Evaluation, now: datetime) -> list[Batch]:
        """The batches due now, their notices already marked sent in :attr:`notices` (record, then send)."""
        active = {alert.key: alert for alert in evaluation.active}
        for alert in evaluation.active:
            if not self._held(alert.key, alert.practice_id, evaluation, now):
                self._fire(alert, now)
        for key, notice in list(self.notices.items()):
            gone = notice.status is Status.FIRING and key not in active
            if gone and not self._held(key, notice.practice_id, evaluation, now):
                self._queue(notice.resolved(now), now)
        for group in self._groups.values():  # changed back before their wait ended: never sent
            for key in [k for k, n in group.pending.items() if (n.status is Status.FIRING) != (k in active)]:
                del group.pending[key]
        return list(self._flush(now))

    def delivered(self, key: str, sink: str, ok: bool) -> Notice | None:
        """Record a sink's outcome for ``key``; the notice to write back, or None if it changed meanwhile."""
        notice = self.notices.get(key)
        if notice is None:
            return None
        notice = notice.with_delivery(sink, Delivered.OK if ok else Delivered.FAILED)
        self.notices[key] = notice
        return notice

    # -- steps -----------------------------------------------------------------------------------------

    def _held(self, key: str, practice_id: str | None, evaluation: Evaluation, now: datetime) -> bool:
        return key in evaluation.suppressed or self._settings.silenced(practice_id, now)

    def _fire(self, alert: ActiveAlert, now: datetime) -> None:
        known = self.notices.get(alert.key)
        if known is None or known.status is Status.RESOLVED:
            severity = self._settings.severity(alert.condition)
            self._queue(Notice.firing(alert, severity, now), now, only_if_absent=True)
            return
        repeat = self._settings.grouping.repeat_interval_s
        if known.last_sent_at is None or (now - known.last_sent_at).total_seconds() >= repeat:
            self._queue(known.refreshed(alert), now, only_if_absent=True)

    def _queue(self, notice: Notice, now: datetime, *, only_if_absent: bool = False) -> None:
        key, group_labels = self._group_of(notice)
        group = self._groups.setdefault(key, _Group(group_labels))
        if only_if_absent and notice.key in group.pending:
            return
        group.pending[notice.key] = notice
        if group.first_pending_at is None:
            group.first_pending_at = now

    def _flush(self, now: datetime) -> Iterable[Batch]:
        grouping = self._settings.grouping
        for key, group in self._groups.items():
            if not group.pending or group.first_pending_at is None:
                continue
            if group.last_sent_at is None:
                due = (now - group.first_pending_at).total_seconds() >= grouping.wait_s
            else:
                due = (now - group.last_sent_at).total_seconds() >= grouping.interval_s
            if not due:
                continue
            notices = tuple(sorted((n.sent(now) for n in group.pending.values()), key=lambda n: n.key))
            for notice in notices:
                self.notices[notice.key] = notice
            group.pending, group.first_pending_at, group.last_sent_at = {}, None, now
            yield Batch(key, dict(group.labels), notices)

    def _group_of(self, notice: Notice) -> tuple[str, dict[str, str]]:
        found = labels(notice)
        group_labels: dict[str, str] = {name: found.get(name, "") for name in self._settings.grouping.by}
        return "{" + ",".join(f'{k}="{v}"' for k, v in group_labels.items()) + "}", group_labels
