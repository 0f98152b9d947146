"""Circuit breakers, one per practice, with their state in a table so it survives restarts and rebalances.

pybreaker runs the state machine; :class:`TableStorage` keeps its state and counters in a mapping keyed by
``practice|PMS`` (a Faust table in production: every write is reassigned so it reaches the changelog). A 429
with ``Retry-After`` *parks* the practice until then, in the same entry, without touching other practices.

Only retryable failures count against a circuit: a validation error says nothing about the PMS's health.
Transitions are handed to a callback (the alerts topic in production).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TypeVar

import pybreaker

from adapters.domain import PmsKind
from adapters.errors import ErrorCode, RateLimited
from streams.registry import CircuitSettings
from streams.retry import Failure, FailureKind

__all__ = ["CircuitBoard", "CircuitOpen", "TableStorage", "Transition"]

T = TypeVar("T")


class TableStorage(pybreaker.CircuitBreakerStorage):
    """pybreaker state in one entry of ``table``; reassigned on every change so a changelog sees it."""

    def __init__(self, table: MutableMapping[str, Any], key: str) -> None:
        super().__init__(key)
        self._table = table
        self._key = key

    def _entry(self) -> Mapping[str, Any]:
        # Read-only: pybreaker reads the state and counters several times a call; only _update copies.
        return self._table.get(self._key) or _CLOSED

    def _update(self, **changes: Any) -> None:
        entry = self._entry()
        # pybreaker resets the failure counter after every success, mostly one that is 0 already: writing
        # that would send a changelog record per command for nothing.
        if any(entry.get(name) != value for name, value in changes.items()):
            self._table[self._key] = {**entry, **changes}

    @property
    def state(self) -> str:
        return str(self._entry()["state"])

    @state.setter
    def state(self, state: str) -> None:
        self._update(state=state)

    def increment_counter(self) -> None:
        self._update(counter=self.counter + 1)

    def reset_counter(self) -> None:
        self._update(counter=0)

    def increment_success_counter(self) -> None:
        self._update(successes=self.success_counter + 1)

    def reset_success_counter(self) -> None:
        self._update(successes=0)

    @property
    def counter(self) -> int:
        return int(self._entry().get("counter", 0))

    @property
    def success_counter(self) -> int:
        return int(self._entry().get("successes", 0))

    @property
    def opened_at(self) -> datetime | None:
        return _opened_at(self._entry())

    @opened_at.setter
    def opened_at(self, instant: datetime) -> None:
        self._update(opened_at=instant.timestamp())

    @property
    def parked_until(self) -> float | None:
        return _parked_until(self._entry())

    @property
    def snapshot(self) -> Mapping[str, Any]:
        """The whole entry in one read (not to be changed)."""
        return self._entry()

    def park(self, until: float) -> None:
        self._update(parked_until=until)


# A practice whose circuit never changed has no entry: this is what it reads as.
_CLOSED: Mapping[str, Any] = MappingProxyType({"state": pybreaker.STATE_CLOSED, "counter": 0, "successes": 0})


def _opened_at(entry: Mapping[str, Any]) -> datetime | None:
    value = entry.get("opened_at")
    return None if value is None else datetime.fromtimestamp(float(value), UTC)


def _parked_until(entry: Mapping[str, Any]) -> float | None:
    value = entry.get("parked_until")
    return None if value is None else float(value)


@dataclass(frozen=True)
class Transition:
    """A circuit changed state: published as an alert."""

    practice_id: str
    pms: PmsKind
    old: str
    new: str
    at: datetime
    failures: int


class _Listener(pybreaker.CircuitBreakerListener):
    def __init__(self, practice_id: str, pms: PmsKind, notify: Callable[[Transition], None]) -> None:
        self._practice_id = practice_id
        self._pms = pms
        self._notify = notify

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        old = getattr(old_state, "name", str(old_state))
        new = getattr(new_state, "name", str(new_state))
        if old != new:
            transition = Transition(
                self._practice_id, self._pms, old, new, datetime.now(UTC), cb.fail_counter
            )
            self._notify(transition)


def _counts_against_circuit(exc: BaseException) -> bool:
    # pybreaker's ``exclude`` takes predicates that return True for errors that must NOT count. A 429 says
    # the PMS is healthy but busy: it parks the practice until Retry-After instead of opening the circuit.
    return isinstance(exc, RateLimited) or not getattr(exc, "retryable", False)


class CircuitBoard:
    """Every practice's breaker, built on first use over one shared table."""

    def __init__(
        self,
        table: MutableMapping[str, Any],
        *,
        notify: Callable[[Transition], None] = lambda _t: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table
        self._notify = notify
        self._clock = clock
        self._breakers: dict[str, pybreaker.CircuitBreaker] = {}

    def _breaker(self, practice_id: str, pms: PmsKind, settings: CircuitSettings) -> pybreaker.CircuitBreaker:
        key = f"{practice_id}|{pms}"
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = pybreaker.CircuitBreaker(
                fail_max=settings.fail_max,
                reset_timeout=settings.reset_timeout_seconds,
                exclude=[_counts_against_circuit],
                listeners=[_Listener(practice_id, pms, self._notify)],
                state_storage=TableStorage(self._table, key),
                name=key,
                # The failure that trips the circuit did reach the PMS: let the caller see it as it was.
                throw_new_error_on_trip=False,
            )
            self._breakers[key] = breaker
        return breaker

    def storage(self, practice_id: str, pms: PmsKind) -> TableStorage:
        return TableStorage(self._table, f"{practice_id}|{pms}")

    def rejection(self, practice_id: str, pms: PmsKind, settings: CircuitSettings) -> Failure | None:
        """Why a call for this practice must not be made now (parked or open), or None."""
        entry = self.storage(practice_id, pms).snapshot  # one table read for the three questions
        now = self._clock()
        parked_until = _parked_until(entry)
        if parked_until is not None and parked_until > now:
            return Failure(
                ErrorCode.RATE_LIMITED, True, retry_after=parked_until - now, kind=FailureKind.PARKED
            )
        opened_at = _opened_at(entry)
        if entry.get("state") == pybreaker.STATE_OPEN and opened_at is not None:
            reopen = opened_at.timestamp() + settings.reset_timeout_seconds
            if reopen > now:
                return Failure(
                    ErrorCode.CIRCUIT_OPEN, True, retry_after=reopen - now, kind=FailureKind.CIRCUIT_OPEN
                )
        return None

    def park(self, practice_id: str, pms: PmsKind, retry_after: float) -> None:
        storage = self.storage(practice_id, pms)
        until = self._clock() + retry_after
        if (storage.parked_until or 0.0) < until:
            storage.park(until)

    async def call(
        self,
        practice_id: str,
        pms: PmsKind,
        settings: CircuitSettings,
        operation: Callable[[], Awaitable[T]],
    ) -> T:
        """Run ``operation`` under the practice's breaker (pybreaker's ``calling()`` works across awaits)."""
        breaker = self._breaker(practice_id, pms, settings)
        with breaker.calling():
            return await operation()

    def state(self, practice_id: str, pms: PmsKind) -> str:
        return self.storage(practice_id, pms).state


# pybreaker raises this when a call is refused; the stream layer checks ``rejection`` first, so it only
# appears when calls race past a circuit that is opening.
CircuitOpen = pybreaker.CircuitBreakerError
