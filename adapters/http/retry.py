"""In-call retry policy: a few pure functions, so every case is a row in a test table.

The HTTP client only retries what is cheap and safe to retry *inside* one call: a request that never reached
the PMS, a 5xx gateway hiccup, or a 429 that asks for a short wait. Everything else is raised at once and the
stream layer's retry tiers take over; a write whose outcome is unknown is never sent again here, because only
reconciliation by reference can tell whether it landed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from adapters.errors import ConnectionLost, PMSError, RateLimited, Unavailable

__all__ = ["RetryPolicy", "equal_jitter", "fits_deadline", "full_jitter", "next_delay", "should_retry"]

Jitter = Callable[[float], float]


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds for in-call retries. ``max_attempts`` counts the first try."""

    max_attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 2.0
    # The longest Retry-After we wait for in-call; a longer one is raised as RateLimited at once.
    max_rate_limit_wait: float = 1.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if not 0 <= self.base_delay <= self.max_delay:
            raise ValueError("need 0 <= base_delay <= max_delay")
        if self.max_rate_limit_wait < 0:
            raise ValueError("max_rate_limit_wait must be >= 0")


def should_retry(
    error: PMSError, *, attempt: int, policy: RetryPolicy, is_write: bool, remaining: float | None
) -> bool:
    """Whether ``error``, raised by try number ``attempt`` (1-based), deserves another try in this call.

    ``remaining`` is the caller's deadline budget in seconds (None: no deadline).
    """
    if attempt >= policy.max_attempts or (remaining is not None and remaining <= 0):
        return False
    if error.outcome_unknown:
        return False  # it may have landed: only reconciliation can tell, never a blind resend
    if isinstance(error, RateLimited):
        wait = error.retry_after
        return (
            wait is not None
            and wait <= policy.max_rate_limit_wait
            and (remaining is None or wait < remaining)
        )
    if isinstance(error, ConnectionLost):
        return True  # outcome known: the request never reached the PMS, or it was a read
    if isinstance(error, Unavailable):
        # A 5xx on a write is only known not to have landed when it came from the PMS itself.
        return not is_write or error.http_status in (None, 503)
    return False


def next_delay(attempt: int, policy: RetryPolicy, *, retry_after: float | None, jitter: Jitter) -> float:
    """Seconds to sleep after try number ``attempt`` failed: capped exponential backoff, jittered.

    A server's Retry-After is a minimum: we never come back sooner than asked.
    """
    backoff = min(policy.max_delay, policy.base_delay * 2.0 ** max(0, attempt - 1))
    delay = min(backoff, max(0.0, jitter(backoff)))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def fits_deadline(delay: float, remaining: float | None) -> bool:
    """Whether sleeping ``delay`` still leaves time for another try before the deadline."""
    return remaining is None or delay < remaining


def full_jitter(delay: float) -> float:
    """Anywhere in [0, delay]: spreads a thundering herd best."""
    return random.uniform(0.0, delay)


def equal_jitter(delay: float) -> float:
    """In [delay/2, delay]: keeps a floor under the backoff (stripe's choice)."""
    return delay / 2 + random.uniform(0.0, delay / 2)
