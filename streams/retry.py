"""Retry policy for the stream layer: pure decisions about where a failed command goes next.

A command that failed is answered now, sent to a retry tier, or dead-lettered. The decision reads only the
attributes the adapter boundary put on the error (``retryable``, ``retry_after``) plus the attempt count and
the command's deadline; it never looks at HTTP statuses.

Tiers are topics with one fixed delay each (Spring Kafka's layout): because every message in a tier waits the
same delay, the head of each partition is always the first one due, and a consumer can simply wait for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from adapters.errors import ErrorCode

__all__ = [
    "DeadLetter",
    "Decision",
    "Failure",
    "FailureKind",
    "GiveUp",
    "Retry",
    "RetryTiers",
    "decide",
    "pick_tier",
]


@dataclass(frozen=True)
class RetryTiers:
    """Delays of the retry topics, shortest first; one topic per delay."""

    delays: tuple[float, ...] = (10.0, 60.0, 600.0)

    def __post_init__(self) -> None:
        if not self.delays or any(d <= 0 for d in self.delays):
            raise ValueError("retry tiers need at least one positive delay")
        if list(self.delays) != sorted(self.delays):
            raise ValueError("retry tier delays must be in increasing order")

    @property
    def max_attempts(self) -> int:
        """The first attempt plus one per tier."""
        return len(self.delays) + 1


class FailureKind(StrEnum):
    ERROR = "ERROR"
    CIRCUIT_OPEN = "CIRCUIT_OPEN"
    PARKED = "PARKED"  # the practice is parked after a 429, until ``retry_after``
    DEFERRED = "DEFERRED"  # the practice's backlog in this worker was full; nothing was attempted


@dataclass(frozen=True)
class Failure:
    """What went wrong with one attempt, as the stream layer sees it."""

    code: ErrorCode
    retryable: bool
    retry_after: float | None = None
    kind: FailureKind = FailureKind.ERROR


@dataclass(frozen=True)
class GiveUp:
    """Answer with an error event now: permanent, or nothing left to try within the deadline."""

    code: ErrorCode


@dataclass(frozen=True)
class Retry:
    tier: int
    due_at: datetime
    attempts: int  # attempts burnt so far, carried to the next hop


@dataclass(frozen=True)
class DeadLetter:
    code: ErrorCode


Decision = GiveUp | Retry | DeadLetter


def pick_tier(wait: float, tiers: RetryTiers, *, at_least: int = 0) -> int:
    """The shortest tier (from ``at_least`` on) whose delay covers ``wait``; the longest if none does."""
    for index in range(at_least, len(tiers.delays)):
        if tiers.delays[index] >= wait:
            return index
    return len(tiers.delays) - 1


def decide(
    failure: Failure,
    *,
    attempts: int,
    now: datetime,
    expires_at: datetime | None,
    tiers: RetryTiers,
) -> Decision:
    """Where a command goes after ``attempts`` attempts, the last of which failed with ``failure``.

    Circuit-open and parked rejections did not reach the PMS, so they do not burn an attempt: the command waits
    in the tier that covers the remaining open (or parked) time and keeps its attempt count.
    """
    if not failure.retryable:
        return GiveUp(failure.code)
    burnt = failure.kind is FailureKind.ERROR
    if burnt and attempts >= tiers.max_attempts:
        return DeadLetter(failure.code)
    tier = attempts - 1 if burnt else 0
    wait = tiers.delays[min(tier, len(tiers.delays) - 1)]
    if failure.retry_after is not None:
        tier = pick_tier(failure.retry_after, tiers, at_least=tier if burnt else 0)
        wait = max(tiers.delays[tier], failure.retry_after)
    due_at = now + timedelta(seconds=wait)
    if expires_at is not None and due_at >= expires_at:
        return GiveUp(ErrorCode.DEADLINE_EXCEEDED)
    return Retry(tier=tier, due_at=due_at, attempts=attempts)
