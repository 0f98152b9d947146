"""The worker's metrics: one catalog of instruments, counted from the observer seam and read from live state.

:data:`CATALOG` names every instrument once, with its Prometheus name and labels and its OpenTelemetry name
(the messaging and HTTP semantic conventions where one exists). :class:`MetricsObserver` counts and times
what the pipeline reports; :func:`gauge_samples` reads the gauges from :class:`streams.readings.Readings`
when a backend asks (a Prometheus scrape, an OTLP export). Backends (:mod:`streams.prometheus`,
:mod:`streams.otel_metrics`) only map the catalog onto their library. Labels carry ids and codes only, never
patient data; durations are in seconds.

``practice_label=False`` drops the ``practice_id`` label for fleets where it is too many series: counters
then add up over practices, and the per-practice gauges become per PMS (circuits: how many practices are in
each state; slots: summed; last success and last rejection: the newest).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from contextvars import Token
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, NamedTuple, Protocol

from adapters.errors import ErrorCode, PMSError
from adapters.http.client import retry_listener
from streams.observer import QUIET
from streams.outcome import Outcome
from streams.topics import parse_retention

if TYPE_CHECKING:
    from streams.circuit import Transition
    from streams.readings import Readings
    from streams.received import Received
    from streams.registry import Registry

__all__ = [
    "CATALOG",
    "Backend",
    "Instrument",
    "Kind",
    "Metrics",
    "MetricsObserver",
    "Recorder",
    "Sample",
    "gauge_samples",
    "tier_delay",
]


class Kind(StrEnum):
    COUNTER = "counter"
    HISTOGRAM = "histogram"
    GAUGE = "gauge"


# OpenTelemetry attribute for each Prometheus label.
ATTRIBUTES = {
    "practice_id": "pms.practice_id",
    "pms": "pms.vendor",
    "command_type": "pms.command_type",
    "outcome": "pms.outcome",
    "code": "error.type",
    "operation": "pms.operation",
    "status": "pms.status",
    "state": "pms.circuit.state",
    "topic": "messaging.destination.name",
    "partition": "messaging.destination.partition.id",
}

# Seconds: the OTel HTTP and messaging conventions' buckets, up to the 30 s call budget and beyond.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class Instrument:
    name: str  # Prometheus; a counter's ``_total`` is added by the client library
    otel_name: str
    kind: Kind
    description: str
    labels: tuple[str, ...]  # ``practice_id``, when present, comes first
    unit: str = "1"  # UCUM, for OpenTelemetry

    def without_practice(self) -> Instrument:
        if not self.labels or self.labels[0] != "practice_id":
            return self
        return Instrument(self.name, self.otel_name, self.kind, self.description, self.labels[1:], self.unit)

    @property
    def buckets(self) -> tuple[float, ...]:
        return _BUCKETS


FINISHED = Instrument(
    "pms_relay_commands_finished", "pms_relay.commands.finished", Kind.COUNTER,
    "Messages handled (a command or one of its retry copies), by the outcome of their step.",
    ("practice_id", "pms", "command_type", "outcome", "code"), "{message}",
)  # fmt: skip
PROCESSING = Instrument(
    "pms_relay_processing_duration_seconds", "messaging.process.duration", Kind.HISTOGRAM,
    "From a message taken in to its step done (its answer sent, or its copy in a retry tier).",
    ("pms", "command_type", "outcome"), "s",
)  # fmt: skip
PMS_CALL = Instrument(
    "http_client_request_duration_seconds", "http.client.request.duration", Kind.HISTOGRAM,
    "One PMS operation over HTTP, its in-call retries included; status OK or the error code.",
    ("pms", "operation", "status"), "s",
)  # fmt: skip
PMS_RETRIES = Instrument(
    "pms_relay_pms_request_retries", "pms_relay.pms.request.retries", Kind.COUNTER,
    "In-call retries of PMS requests (connection lost, 502/503/504, a short 429), by the error retried.",
    ("practice_id", "pms", "operation", "code"), "{retry}",
)  # fmt: skip
DEAD_LETTERS = Instrument(
    "pms_relay_dead_letters", "pms_relay.dead_letters", Kind.COUNTER,
    "Copies written to the dead-letter topic.",
    ("practice_id", "pms", "code"), "{message}",
)  # fmt: skip
CIRCUIT_STATE = Instrument(
    "pms_relay_circuit_state", "pms_relay.circuit.state", Kind.GAUGE,
    "1 for the circuit's current state, 0 for the others (practices of this worker's partitions).",
    ("practice_id", "pms", "state"),
)  # fmt: skip
LAST_SUCCESS = Instrument(
    "pms_relay_pms_last_success_timestamp_seconds", "pms_relay.pms.last_success", Kind.GAUGE,
    "When a PMS call of the practice last succeeded (Unix time), since this worker started.",
    ("practice_id", "pms"), "s",
)  # fmt: skip
LAST_REJECTION = Instrument(
    "pms_relay_pms_last_rejection_timestamp_seconds", "pms_relay.pms.last_rejection", Kind.GAUGE,
    "When the PMS last refused the practice's credentials (UNAUTHORIZED or FORBIDDEN; Unix time), since this worker started.",
    ("practice_id", "pms"), "s",
)  # fmt: skip
RETRY_WAITING = Instrument(
    "pms_relay_retry_copies_waiting", "pms_relay.retry.copies_waiting", Kind.GAUGE,
    "Retry copies read and waiting for their due time in this worker, per tier.",
    ("topic",), "{message}",
)  # fmt: skip
RETRY_OVERDUE = Instrument(
    "pms_relay_retry_oldest_overdue_seconds", "pms_relay.retry.oldest_overdue", Kind.GAUGE,
    "How long past its due time the oldest waiting copy of the tier still waits (0 when none is due).",
    ("topic",), "s",
)  # fmt: skip
RETRY_DELAY = Instrument(
    "pms_relay_retry_delay_seconds", "pms_relay.retry.delay", Kind.GAUGE,
    "The tier's delay: how long a copy waits in it before it is due.",
    ("topic",), "s",
)  # fmt: skip
ADMITTED = Instrument(
    "pms_relay_commands_admitted", "pms_relay.commands.admitted", Kind.GAUGE,
    "Commands admitted now (running, or waiting for their practice's slots or their subject's turn).",
    (), "{command}",
)  # fmt: skip
ADMITTED_LIMIT = Instrument(
    "pms_relay_commands_admitted_limit", "pms_relay.commands.admitted.limit", Kind.GAUGE,
    "The worker's bound on admitted commands (--max-in-flight).",
    (), "{command}",
)  # fmt: skip
SLOTS_IN_USE = Instrument(
    "pms_relay_practice_slots_in_use", "pms_relay.practice.slots.in_use", Kind.GAUGE,
    "PMS calls of the practice running now.",
    ("practice_id", "pms"), "{call}",
)  # fmt: skip
SLOTS = Instrument(
    "pms_relay_practice_slots", "pms_relay.practice.slots", Kind.GAUGE,
    "The practice's bound on concurrent PMS calls (max_concurrent).",
    ("practice_id", "pms"), "{call}",
)  # fmt: skip
LAG = Instrument(
    "pms_relay_consumer_lag", "pms_relay.consumer.lag", Kind.GAUGE,
    "Records of the commands topic not yet committed, per assigned partition (highwater - committed).",
    ("topic", "partition"), "{message}",
)  # fmt: skip

CATALOG: tuple[Instrument, ...] = (
    FINISHED, PROCESSING, PMS_CALL, PMS_RETRIES, DEAD_LETTERS, CIRCUIT_STATE, LAST_SUCCESS, LAST_REJECTION,
    RETRY_WAITING, RETRY_OVERDUE, RETRY_DELAY, ADMITTED, ADMITTED_LIMIT, SLOTS_IN_USE, SLOTS, LAG,
)  # fmt: skip
_CIRCUIT_STATES = ("closed", "open", "half-open")
# The PMS refused the credentials: a later success is the only sign they were fixed (an alert waits for it).
_REJECTED = frozenset({ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN})
_NEWEST = frozenset({LAST_SUCCESS, LAST_REJECTION})  # timestamps: per PMS, the newest, not a sum


class Sample(NamedTuple):
    instrument: Instrument
    labels: tuple[str, ...]
    value: float


Recorder = Callable[[tuple[str, ...], float], None]
"""Adds to a counter, or observes a histogram: ``(label values, amount)``."""


class Backend(Protocol):
    """One metrics library: records on the hot path, reads gauges when it collects."""

    def recorder(self, instrument: Instrument) -> Recorder:
        """The counter or histogram of ``instrument`` (bound once, so recording is a lookup and a call)."""
        ...

    def watch(self, gauges: Sequence[Instrument], samples: Callable[[], list[Sample]]) -> None:
        """Read ``samples`` (of ``gauges``) whenever the backend collects."""


def _recorder(backends: Sequence[Backend], instrument: Instrument) -> Recorder:
    recorders = [backend.recorder(instrument) for backend in backends]
    if len(recorders) == 1:
        return recorders[0]

    def every(labels: tuple[str, ...], value: float) -> None:
        for record in recorders:
            record(labels, value)

    return every


class _RetryCounting:
    """While a message is handled, its in-call PMS retries are counted against its practice."""

    __slots__ = ("_observer", "_received", "_token")

    def __init__(self, observer: MetricsObserver, received: Received) -> None:
        self._observer = observer
        self._received = received
        self._token: Token[Callable[[PMSError], None] | None] | None = None

    def __enter__(self) -> None:
        self._token = retry_listener.set(self._retried)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._token is not None:
            retry_listener.reset(self._token)

    def _retried(self, error: PMSError) -> None:
        self._observer.retried(self._received, error.code)


class MetricsObserver:
    """The observer seam as counters and histograms (see the module docstring)."""

    def __init__(
        self,
        backends: Sequence[Backend],
        *,
        pms_of: Callable[[str], str],
        practice_label: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        def bound(instrument: Instrument) -> Recorder:
            return _recorder(backends, instrument if practice_label else instrument.without_practice())

        self._pms_of = pms_of
        self._practice_label = practice_label
        self._finished = bound(FINISHED)
        self._processing = bound(PROCESSING)
        self._pms_call = bound(PMS_CALL)
        self._retries = bound(PMS_RETRIES)
        self._dead_letters = bound(DEAD_LETTERS)
        self._clock = clock
        # practice id -> when its credentials were last refused (only practices of the registry call a PMS)
        self._rejected_at: dict[str, float] = {}

    def last_rejections(self) -> Iterator[tuple[str, float]]:
        """``(practice id, Unix time)`` of each practice's last refused credentials, since this worker started."""
        return iter(list(self._rejected_at.items()))

    def handling(self, received: Received) -> _RetryCounting:
        return _RetryCounting(self, received)

    def finished(self, received: Received, outcome: Outcome, code: ErrorCode | None) -> None:
        command = received.command
        # A practice outside the registry is input: never a label value (unbounded series).
        known = command is not None and outcome is not Outcome.UNKNOWN_PRACTICE
        practice_id = received.practice_id if known else ""
        pms = self._pms_of(practice_id) if known else ""
        command_type = command.command_type.value if command is not None else ""
        labels = (pms, command_type, outcome.value, code.value if code is not None else "")
        self._finished(self._with_practice(practice_id, labels), 1.0)
        taken = received.seconds_since_read()
        if taken is not None:
            self._processing((pms, command_type, outcome.value), taken)

    def crashed(self, received: Received, exception_type: str) -> None:
        pass  # counted as the INTERNAL outcome

    def pms_called(
        self, received: Received, pms: str, operation: str, seconds: float, code: ErrorCode | None
    ) -> None:
        status = code.value if code is not None else "OK"
        self._pms_call((pms, operation, status), seconds)
        if code in _REJECTED:
            self._rejected_at[received.practice_id] = self._clock()

    def retried(self, received: Received, code: ErrorCode) -> None:
        """An in-call retry of a PMS request made while handling ``received``."""
        command = received.command
        operation = command.command_type.value if command is not None else ""
        labels = (self._pms_of(received.practice_id), operation, code.value)
        self._retries(self._with_practice(received.practice_id, labels), 1.0)

    def retry_scheduled(self, received: Received, tier: int, code: ErrorCode) -> None:
        pass  # counted as the outcome of its step

    def dead_lettered(self, received: Received, code: ErrorCode) -> None:
        practice_id = received.practice_id
        pms = self._pms_of(practice_id)
        practice_id = practice_id if pms else ""  # undecodable or outside the registry
        self._dead_letters(self._with_practice(practice_id, (pms, code.value)), 1.0)

    def circuit_changed(self, transition: Transition) -> None:
        pass  # read from the circuits table at collection time

    def sending(self, topic: str, received: Received | None) -> AbstractContextManager[None]:
        return QUIET

    def _with_practice(self, practice_id: str, labels: tuple[str, ...]) -> tuple[str, ...]:
        return (practice_id, *labels) if self._practice_label else labels


class Metrics:
    """The metrics of one worker on its backends: the observer, and the gauges once live state exists."""

    def __init__(
        self, backends: Sequence[Backend], *, registry: Registry, practice_label: bool = True
    ) -> None:
        def pms_of(practice_id: str) -> str:
            practice = registry.get(practice_id)
            return str(practice.pms) if practice is not None else ""

        self._backends = tuple(backends)
        self._practice_label = practice_label
        self.observer = MetricsObserver(backends, pms_of=pms_of, practice_label=practice_label)

    @property
    def enabled(self) -> bool:
        return bool(self._backends)

    def watch(self, readings: Readings) -> None:
        gauges = gauge_instruments(self._practice_label)
        rejections = self.observer.last_rejections
        for backend in self._backends:
            backend.watch(gauges, lambda: gauge_samples(readings, self._practice_label, rejections()))


def gauge_instruments(practice_label: bool) -> list[Instrument]:
    gauges = [i for i in CATALOG if i.kind is Kind.GAUGE]
    return gauges if practice_label else [i.without_practice() for i in gauges]


def gauge_samples(
    readings: Readings, practice_label: bool = True, rejections: Iterable[tuple[str, float]] = ()
) -> list[Sample]:
    """Every gauge's value now, from live state (and ``rejections``: :meth:`MetricsObserver.last_rejections`)."""
    worker = readings.worker()
    now = readings.now()
    samples = [
        Sample(ADMITTED, (), worker.in_flight),
        Sample(ADMITTED_LIMIT, (), worker.max_in_flight),
        *(Sample(LAG, (readings.commands_topic, str(p)), lag) for p, lag in sorted(worker.lag.items())),
    ]
    for topic, waiting in worker.retry_tiers.items():
        samples += [Sample(RETRY_WAITING, (topic,), waiting.copies), Sample(RETRY_OVERDUE, (topic,), waiting.overdue(now))]  # fmt: skip
        samples.append(Sample(RETRY_DELAY, (topic,), tier_delay(topic)))
    practices = readings.practices()
    owned = {p.practice_id for p in practices}
    per_practice: list[Sample] = []
    for practice in practices:
        key = (practice.practice_id, practice.pms)
        per_practice += [Sample(CIRCUIT_STATE, (*key, state), float(practice.circuit == state)) for state in _CIRCUIT_STATES]  # fmt: skip
        per_practice += [Sample(SLOTS_IN_USE, key, practice.slots_in_use), Sample(SLOTS, key, practice.slots)]
    for instrument, times in (
        (LAST_SUCCESS, readings.activity.last_successes()),
        (LAST_REJECTION, rejections),
    ):
        for practice_id, at in times:
            if practice_id in owned:
                per_practice.append(Sample(instrument, (practice_id, readings.pms_of(practice_id)), at))
    return samples + (per_practice if practice_label else _per_pms(per_practice))


def _per_pms(samples: Iterable[Sample]) -> list[Sample]:
    """Per-practice gauge samples without the practice: summed, but the timestamps are the newest."""
    totals: dict[tuple[Instrument, tuple[str, ...]], float] = defaultdict(float)
    for instrument, labels, value in samples:
        key = (instrument.without_practice(), labels[1:])
        newest = instrument in _NEWEST
        totals[key] = max(totals[key], value) if newest else totals[key] + value
    return [Sample(instrument, labels, value) for (instrument, labels), value in totals.items()]


def tier_delay(topic: str) -> float:
    """A retry tier's delay in seconds, read from its name (``pms.commands.retry.10s``: tiers are named after
    their delay, :class:`streams.topics.TopicNames`), so a rule can compare a tier's overdue time with it."""
    return parse_retention(topic.rsplit(".retry.", 1)[-1]) / 1000
