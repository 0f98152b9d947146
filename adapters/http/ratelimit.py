"""Per-practice client-side rate and concurrency limits, so we stay under the PMS's quota instead of
discovering it through 429s. Waiting for a slot never outlives the caller's deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from aiolimiter import AsyncLimiter

from adapters import deadline
from adapters.errors import PMSTimeout

__all__ = ["PracticeRateLimiter", "RateLimits"]


@dataclass(frozen=True)
class RateLimits:
    """Configuration: requests per second (bursts up to one second's worth) and requests in flight."""

    rate_per_second: float
    max_concurrent: int

    def __post_init__(self) -> None:
        if self.rate_per_second <= 0:
            raise ValueError("rate_per_second must be > 0")
        if self.max_concurrent < 1:
            raise ValueError("max_concurrent must be >= 1")


class PracticeRateLimiter:
    """``async with limiter:`` holds one concurrency slot and one rate token for the duration of a request.

    Raises :class:`adapters.errors.PMSTimeout` when the deadline (``remaining``, by default the one of
    :mod:`adapters.deadline`) passes while waiting.
    """

    def __init__(
        self,
        rate_per_second: float,
        max_concurrent: int,
        *,
        remaining: Callable[[], float | None] = deadline.remaining,
    ) -> None:
        limits = RateLimits(rate_per_second, max_concurrent)  # validates
        self.limits = limits
        self._remaining = remaining
        self._slots = asyncio.Semaphore(limits.max_concurrent)
        # One request per 1/rate seconds: a bucket of a whole second's worth would let a full second's burst
        # through at once, and the PMS counts requests per second of its own clock.
        self._rate = AsyncLimiter(1, 1.0 / limits.rate_per_second)

    @classmethod
    def from_limits(
        cls, limits: RateLimits, *, remaining: Callable[[], float | None] = deadline.remaining
    ) -> PracticeRateLimiter:
        return cls(limits.rate_per_second, limits.max_concurrent, remaining=remaining)

    async def __aenter__(self) -> None:
        budget = self._remaining()
        if budget is not None and budget <= 0:
            raise PMSTimeout("deadline exceeded before waiting for rate limit")
        if not self._slots.locked() and self._rate.has_capacity():
            # Nothing to wait for (and no one waiting before us): neither acquire suspends, so no timer.
            await self._slots.acquire()
            await self._rate.acquire()
            return
        try:
            async with asyncio.timeout(budget):
                await self._slots.acquire()
                try:
                    await self._rate.acquire()
                except BaseException:
                    self._slots.release()
                    raise
        except TimeoutError as exc:
            raise PMSTimeout("deadline exceeded while waiting for rate limit") from exc

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._slots.release()
