"""Recent activity, per practice and for the worker: what the status topic reports beside the live state.

An :class:`Activity` is an observer (:mod:`streams.observer`): it counts commands taken in and answers sent,
keeps per practice one-minute buckets of answers and errors for the last hour, the durations of its recent
PMS calls, its last success and its last failures (ids, codes and trace ids only), and notes which circuits
changed so their practice is reported at once. Memory is bounded per practice; practices outside the
registry are never recorded (a command's practice id is input).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opentelemetry import trace

from adapters.errors import ErrorCode
from streams.observer import QUIET
from streams.outcome import TERMINAL, Outcome

if TYPE_CHECKING:
    from streams.circuit import Transition
    from streams.received import Received

__all__ = ["Activity", "Failure", "PracticeActivity", "Window", "percentile"]

# Step outcomes worth an operator's look: the PMS or the command failed. Load shedding, ordering and open
# circuits carry a code too, but they are the relay protecting a practice, not a failure of it.
_FAILURES = frozenset(
    {
        Outcome.RETRYING,
        Outcome.RECONCILE_FAILED,
        Outcome.ANSWERED_ERROR,
        Outcome.DEAD_LETTERED,
        Outcome.DEADLINE_EXCEEDED,
        Outcome.INTERNAL,
    }
)
_UNRECORDED = frozenset({Outcome.UNKNOWN_PRACTICE, Outcome.UNDECODABLE})  # no practice of ours
_MINUTES = 60  # the longest window
_LATENCY_SECONDS = 300.0
_LATENCY_SAMPLES = 2048  # per practice: a busier practice's window is its latest calls
_FAILURES_KEPT = 10


@dataclass(frozen=True)
class Window:
    finished: int  # commands answered
    errors: int  # of them, answered with an error


@dataclass(frozen=True)
class Failure:
    command_id: str
    code: ErrorCode
    at: float  # epoch seconds
    trace_id: str | None  # 32 hex digits, when the command carried a trace


@dataclass(frozen=True)
class PracticeActivity:
    last_success_at: float | None
    failures: tuple[Failure, ...]  # newest first
    window_5m: Window
    window_60m: Window
    latency_p50: float | None  # seconds, over the last 5 minutes of PMS calls
    latency_p95: float | None
    circuit_since: float | None = None  # epoch seconds: its first open since the circuit last closed


class _Minutes:
    """A ring of one-minute buckets of (answers, errors)."""

    __slots__ = ("_errors", "_finished", "_minute")

    def __init__(self) -> None:
        self._minute = [-1] * _MINUTES
        self._finished = [0] * _MINUTES
        self._errors = [0] * _MINUTES

    def add(self, now: float, *, error: bool) -> None:
        minute = int(now // 60)
        slot = minute % _MINUTES
        if self._minute[slot] != minute:
            self._minute[slot], self._finished[slot], self._errors[slot] = minute, 0, 0
        self._finished[slot] += 1
        self._errors[slot] += error

    def window(self, now: float, minutes: int) -> Window:
        """The current minute and the ``minutes - 1`` before it."""
        current = int(now // 60)
        finished = errors = 0
        for minute in range(current - minutes + 1, current + 1):
            slot = minute % _MINUTES
            if self._minute[slot] == minute:
                finished += self._finished[slot]
                errors += self._errors[slot]
        return Window(finished, errors)


class _Practice:
    __slots__ = ("failures", "last_success_at", "latencies", "minutes")

    def __init__(self) -> None:
        self.minutes = _Minutes()
        self.latencies: deque[tuple[float, float]] = deque(maxlen=_LATENCY_SAMPLES)
        self.failures: deque[Failure] = deque(maxlen=_FAILURES_KEPT)
        self.last_success_at: float | None = None


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0 < q <= 100) of an ascending sequence; None when empty."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class Activity:
    """The observer seam as recent activity (see the module docstring)."""

    def __init__(self, commands_topic: str, *, clock: Callable[[], float] = time.time) -> None:
        self._commands_topic = commands_topic
        self._clock = clock
        self._practices: dict[str, _Practice] = {}
        self._changed: set[str] = set()
        # The alerting service times "open for N minutes" from here: open <-> half-open flaps keep the first
        # open, only closing resets it (pybreaker's opened_at moves on every re-open).
        self._open_since: dict[str, float] = {}
        self.commands_in = 0  # messages of the commands topic handled (retry copies are not new commands)
        self.answers_out = 0  # results and errors sent (replays included)
        self.dead_letters_written = 0

    # -- reading -------------------------------------------------------------------------------------------

    def practice(self, practice_id: str) -> PracticeActivity:
        now = self._clock()
        entry = self._practices.get(practice_id) or _Practice()
        recent = sorted(seconds for at, seconds in entry.latencies if at > now - _LATENCY_SECONDS)
        return PracticeActivity(
            last_success_at=entry.last_success_at,
            failures=tuple(entry.failures),
            window_5m=entry.minutes.window(now, 5),
            window_60m=entry.minutes.window(now, 60),
            latency_p50=percentile(recent, 50),
            latency_p95=percentile(recent, 95),
            circuit_since=self._open_since.get(practice_id),
        )

    def last_successes(self) -> Iterator[tuple[str, float]]:
        for practice_id, entry in list(self._practices.items()):
            if entry.last_success_at is not None:
                yield practice_id, entry.last_success_at

    def take_changed(self) -> set[str]:
        """Practices whose circuit changed since the last call."""
        changed, self._changed = self._changed, set()
        return changed

    # -- the observer seam ---------------------------------------------------------------------------------

    def handling(self, received: Received) -> AbstractContextManager[None]:
        return QUIET

    def finished(self, received: Received, outcome: Outcome, code: ErrorCode | None) -> None:
        if received.message.topic == self._commands_topic:
            self.commands_in += 1
        terminal = outcome in TERMINAL
        if terminal:
            self.answers_out += 1
        if outcome in _UNRECORDED or not received.practice_id:
            return
        now = self._clock()
        entry = self._entry(received.practice_id)
        if terminal:
            entry.minutes.add(now, error=code is not None)
        if code is not None and outcome in _FAILURES:
            entry.failures.appendleft(Failure(received.command_id, code, now, _trace_id()))

    def crashed(self, received: Received, exception_type: str) -> None:
        pass

    def pms_called(
        self, received: Received, pms: str, operation: str, seconds: float, code: ErrorCode | None
    ) -> None:
        now = self._clock()
        entry = self._entry(received.practice_id)
        entry.latencies.append((now, seconds))
        if code is None:
            entry.last_success_at = now

    def retry_scheduled(self, received: Received, tier: int, code: ErrorCode) -> None:
        pass

    def dead_lettered(self, received: Received, code: ErrorCode) -> None:
        self.dead_letters_written += 1

    def circuit_changed(self, transition: Transition) -> None:
        self._changed.add(transition.practice_id)
        if transition.new == "closed":
            self._open_since.pop(transition.practice_id, None)
        elif transition.old == "closed":  # a new outage (and a practice that left and came back starts over)
            self._open_since[transition.practice_id] = transition.at.timestamp()
        else:
            self._open_since.setdefault(transition.practice_id, transition.at.timestamp())

    def sending(self, topic: str, received: Received | None) -> AbstractContextManager[None]:
        return QUIET

    def _entry(self, practice_id: str) -> _Practice:
        entry = self._practices.get(practice_id)
        if entry is None:
            entry = self._practices[practice_id] = _Practice()
        return entry


def _trace_id() -> str | None:
    """The trace of the message being handled (the command's own, carried in its traceparent), if any."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
