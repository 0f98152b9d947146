"""The status topic: each worker publishes its own state and that of the practices it owns (the dashboard's
source; the contract is in README, "Operating it").

``<prefix>pms.status`` is compacted, keyed ``worker|<worker_id>`` and ``practice|<practice_id>``; values are
JSON, with CloudEvents binary headers like ``pms.alerts`` (``ce_type`` ``pms.status.worker.v1`` /
``pms.status.practice.v1``). Every ``interval`` seconds a worker publishes its record and one per practice of
its partitions; a practice whose circuit changed is published at the next tick (within a second). A worker
that stops publishes ``stopping`` and then a tombstone for its key; a killed one's record just goes stale.
Ids, codes, counts and durations only: never patient data.

The records are built by pure functions (:func:`worker_record`, :func:`practice_record`) from readings;
:class:`StatusPublisher` only decides when, and sends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, NamedTuple

import faust

from schemas import cloudevents as ce
from streams.activity import Failure, PracticeActivity
from streams.probe import AppState
from streams.readings import PracticeReading, Readings, WorkerReading

__all__ = [
    "PRACTICE_TYPE",
    "WORKER_TYPE",
    "Identity",
    "Sender",
    "StatusPublisher",
    "StatusRecord",
    "encode",
    "faust_sender",
    "practice_key",
    "practice_record",
    "worker_key",
    "worker_record",
    "worker_state",
]

WORKER_TYPE = "pms.status.worker.v1"
PRACTICE_TYPE = "pms.status.practice.v1"

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    worker_id: str
    host: str
    pid: int
    version: str
    started_at: float

    @classmethod
    def of_this_process(cls, worker_id: str | None = None) -> Identity:
        host, pid = socket.gethostname(), os.getpid()
        try:
            version = metadata.version("pms-relay")
        except metadata.PackageNotFoundError:
            version = "unknown"
        return cls(worker_id or f"{host}-{pid}", host, pid, version, time.time())


class StatusRecord(NamedTuple):
    key: str
    value: dict[str, Any] | None  # None: a tombstone
    event_type: str


Sender = Callable[[str, Sequence[StatusRecord]], Awaitable[None]]


def worker_key(worker_id: str) -> str:
    return f"worker|{worker_id}"


def practice_key(practice_id: str) -> str:
    return f"practice|{practice_id}"


def _at(epoch: float | None) -> str | None:
    return None if epoch is None else ce.rfc3339(datetime.fromtimestamp(epoch, UTC))


def worker_state(state: AppState, *, stopping: bool) -> str:
    if stopping or state.stopping:
        return "stopping"
    if not state.recovered:
        return "starting"
    if state.rebalancing or state.recovering:
        return "rebalancing"
    return "running"


def worker_record(
    identity: Identity,
    reading: WorkerReading,
    *,
    state: str,
    commands_topic: str,
    commands_in: int,
    answers_out: int,
    dead_letters_written: int,
    now: float,
) -> dict[str, Any]:
    return {
        "worker_id": identity.worker_id,
        "host": identity.host,
        "pid": identity.pid,
        "version": identity.version,
        "state": state,
        "partitions": [f"{commands_topic}:{p}" for p in reading.partitions],
        "started_at": _at(identity.started_at),
        "updated_at": _at(now),
        "commands_in": commands_in,
        "answers_out": answers_out,
        "in_flight": reading.in_flight,
        "max_in_flight": reading.max_in_flight,
        "retry_tiers": {
            topic: {"depth": waiting.copies, "oldest_overdue_s": round(waiting.overdue(now), 3)}
            for topic, waiting in reading.retry_tiers.items()
        },
        "dead_letters_written": dead_letters_written,
    }


def _failure(failure: Failure) -> dict[str, Any]:
    return {
        "command_id": failure.command_id,
        "code": failure.code.value,
        "at": _at(failure.at),
        "trace_id": failure.trace_id,
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def practice_record(
    reading: PracticeReading, activity: PracticeActivity, *, worker_id: str, now: float
) -> dict[str, Any]:
    last = activity.failures[0] if activity.failures else None
    return {
        "practice_id": reading.practice_id,
        "pms": reading.pms,
        "worker_id": worker_id,
        "circuit": reading.circuit,
        "circuit_since": _circuit_since(reading, activity),
        "failures": reading.failures,
        "parked_until": _at(reading.parked_until),
        "last_success_at": _at(activity.last_success_at),
        "last_error": None
        if last is None
        else {
            "code": last.code.value,
            "at": _at(last.at),
            "command_id": last.command_id,
            "trace_id": last.trace_id,
        },
        "recent_failures": [_failure(f) for f in activity.failures],
        "window_5m": {"finished": activity.window_5m.finished, "errors": activity.window_5m.errors},
        "window_60m": {"finished": activity.window_60m.finished, "errors": activity.window_60m.errors},
        "pms_latency_ms": {"p50": _ms(activity.latency_p50), "p95": _ms(activity.latency_p95)},
        "slots_in_use": reading.slots_in_use,
        "slots": reading.slots,
        "backlog": reading.backlog,
        "updated_at": _at(now),
    }


def _circuit_since(reading: PracticeReading, activity: PracticeActivity) -> str | None:
    """When the circuit last left closed. This worker saw the transition, or (the practice moved here while
    open) the circuits table's latest open, which a flap may have moved later."""
    if reading.circuit == "closed":
        return None
    return _at(activity.circuit_since if activity.circuit_since is not None else reading.opened_at)


class StatusPublisher:
    """Decides when to publish (see the module docstring); :meth:`tick` is called every second. With an
    ``interval`` of 0 it publishes nothing."""

    def __init__(
        self,
        *,
        topic: str,
        identity: Identity,
        readings: Readings,
        state: Callable[[], AppState],
        send: Sender,
        interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._topic = topic
        self.identity = identity
        self._readings = readings
        self._state = state
        self._send = send
        self._interval = interval
        self._clock = clock
        self._last_full: float | None = None
        self._stopping = False
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return self._interval > 0

    async def tick(self) -> None:
        """Everything once per interval; in between, the practices whose circuit changed. Never raises."""
        if not self.enabled:
            return
        now = self._clock()
        changed = self._readings.activity.take_changed()
        try:
            if self._last_full is None or now - self._last_full >= self._interval:
                self._last_full = now
                await self._send(self._topic, [self._worker(now), *self._practices(now)])
            elif changed:
                await self._send(self._topic, self._practices(now, only=changed))
        except Exception as exc:  # a status record must never take the worker down
            _log.warning("status not published topic=%s exception=%s", self._topic, type(exc).__name__)

    async def stopping(self) -> None:
        """The worker is shutting down: say so (its practices go to their next owner)."""
        self._stopping = True
        if self.enabled:
            await self._publish_worker()

    async def gone(self) -> None:
        """The last word of a worker that stops: a tombstone for its key."""
        if not self.enabled:
            return
        key = worker_key(self.identity.worker_id)
        try:
            await self._send(self._topic, [StatusRecord(key, None, WORKER_TYPE)])
        except Exception as exc:
            _log.warning("status tombstone not published exception=%s", type(exc).__name__)

    async def on_partitions_assigned(self, sender: object, *args: object, **kwargs: object) -> None:
        """Faust's signal: the worker record now (its partitions changed), everything at the next tick. The
        rebalance does not wait for the broker's acknowledgement."""
        if not self.enabled:
            return
        self._last_full = None
        task = asyncio.get_running_loop().create_task(self._publish_worker())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish_worker(self) -> None:
        try:
            await self._send(self._topic, [self._worker(self._clock())])
        except Exception as exc:
            _log.warning("status not published topic=%s exception=%s", self._topic, type(exc).__name__)

    def _worker(self, now: float) -> StatusRecord:
        activity = self._readings.activity
        record = worker_record(
            self.identity,
            self._readings.worker(),
            state=worker_state(self._state(), stopping=self._stopping),
            commands_topic=self._readings.commands_topic,
            commands_in=activity.commands_in,
            answers_out=activity.answers_out,
            dead_letters_written=activity.dead_letters_written,
            now=now,
        )
        return StatusRecord(worker_key(self.identity.worker_id), record, WORKER_TYPE)

    def _practices(self, now: float, only: set[str] | None = None) -> list[StatusRecord]:
        activity, worker_id = self._readings.activity, self.identity.worker_id
        records = []
        for practice in self._readings.owned():
            if only is not None and practice.practice_id not in only:
                continue
            reading = self._readings.practice(practice)
            value = practice_record(
                reading, activity.practice(practice.practice_id), worker_id=worker_id, now=now
            )
            records.append(StatusRecord(practice_key(practice.practice_id), value, PRACTICE_TYPE))
        return records


def encode(record: StatusRecord, now: datetime) -> tuple[bytes, bytes | None, list[tuple[str, bytes]]]:
    """Key, JSON value (None for a tombstone) and CloudEvents headers of one record."""
    headers = ce.build_headers(
        event_id=str(uuid.uuid4()), source=ce.DEFAULT_SOURCE, event_type=record.event_type, time=now
    )
    headers = [(k, b"application/json" if k == "content-type" else v) for k, v in headers]
    value = None if record.value is None else json.dumps(record.value, separators=(",", ":")).encode()
    return record.key.encode(), value, headers


def faust_sender(app: faust.App) -> Sender:
    """Sends records through Faust's producer, all buffered first, then waits for every acknowledgement."""

    async def send(topic: str, records: Sequence[StatusRecord]) -> None:
        now = datetime.now(UTC)
        pending = []
        for record in records:
            key, value, headers = encode(record, now)
            pending.append(await app.producer.send(topic, key, value, None, None, headers))
        await asyncio.gather(*pending)

    return send
