"""What the Faust app says of itself: its assignment, recovery, rebalancing, broker connection and lag.

The one module that reads Faust's (and aiokafka's) state for health, metrics and status, so the places
where private attributes are read are all here, each with where it comes from in faust-streaming 0.15.3:

- recovery done: ``app.tables.recovery.completed`` is set once the first recovery has finished (and stream
  partitions resumed); ``app.in_recovery`` is True while any recovery runs, ``app.rebalancing`` while a
  rebalance is under way (``App.on_rebalance_start`` / ``on_rebalance_end``);
- partitions: ``app.consumer.assignment()`` (raises ``ConsumerNotStarted`` before the consumer thread runs);
- the broker: aiokafka's group coordinator forgets its coordinator (``coordinator_id = None``) when a
  request or heartbeat to it fails, and finds one again once a broker answers;
- lag: :meth:`streams.commits.LedgerConsumer.lag`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import faust
from faust.exceptions import ConsumerNotStarted

__all__ = ["AppProbe", "AppState"]


@dataclass(frozen=True)
class AppState:
    """One reading of the app, for the health and status rules (plain data, so they test with tables)."""

    started: bool  # the consumer runs
    recovered: bool  # the first table recovery finished
    recovering: bool  # a table recovery runs now
    rebalancing: bool
    broker: bool | None  # the group coordinator is known; None before the consumer runs
    partitions: tuple[int, ...]  # assigned partitions of the commands topic
    stopping: bool
    crashed: bool


class AppProbe:
    def __init__(self, app: faust.App, commands_topic: str) -> None:
        self._app = app
        self._commands_topic = commands_topic

    def state(self) -> AppState:
        app = self._app
        aiokafka_consumer = self._aiokafka_consumer()
        coordinator = getattr(aiokafka_consumer, "_coordinator", None)
        return AppState(
            started=aiokafka_consumer is not None,
            recovered=cast(Any, app.tables).recovery.completed.is_set(),
            recovering=bool(app.in_recovery),
            rebalancing=bool(app.rebalancing),
            broker=None if coordinator is None else coordinator.coordinator_id is not None,
            partitions=self.partitions(),
            stopping=bool(app.should_stop) and not app.crashed,
            crashed=bool(app.crashed),
        )

    def partitions(self) -> tuple[int, ...]:
        consumer = self._consumer()
        if consumer is None:
            return ()
        try:
            assignment = consumer.assignment()
        except ConsumerNotStarted:
            return ()
        return tuple(sorted(tp.partition for tp in assignment if tp.topic == self._commands_topic))

    def lag(self) -> dict[int, int]:
        consumer = self._consumer()
        if consumer is None or not hasattr(consumer, "lag"):
            return {}
        try:
            lags: dict[int, int] = consumer.lag(self._commands_topic)
        except ConsumerNotStarted:
            return {}
        return lags

    def _consumer(self) -> Any:
        # ``app.consumer`` would create a consumer when there is none yet: read the attribute behind it.
        return getattr(self._app, "_consumer", None)

    def _aiokafka_consumer(self) -> Any:
        thread = getattr(self._consumer(), "_thread", None)
        return getattr(thread, "_consumer", None)
