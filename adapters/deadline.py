"""The caller's deadline, carried in a context variable so every layer below an adapter call can read it.

The stream layer opens a scope with the command's ``expires_at`` (or its own budget); the HTTP layer bounds
in-call retries, waits and timeouts by what remains. Passing it implicitly keeps the nine operations of
:class:`adapters.contract.PMSInterface` free of plumbing arguments.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

__all__ = ["deadline_scope", "remaining"]

# A monotonic-clock instant; None means the caller set no deadline.
_deadline: ContextVar[float | None] = ContextVar("pms_relay_deadline", default=None)


@contextmanager
def deadline_scope(at: datetime | None = None, *, seconds: float | None = None) -> Iterator[None]:
    """Bound everything inside to ``at`` (an aware instant) or ``seconds`` from now, whichever is sooner.

    A scope never extends an outer, earlier deadline.
    """
    candidates = [d for d in (_deadline.get(),) if d is not None]
    now_mono = time.monotonic()
    if at is not None:
        candidates.append(now_mono + (at - datetime.now(UTC)).total_seconds())
    if seconds is not None:
        candidates.append(now_mono + seconds)
    token = _deadline.set(min(candidates) if candidates else None)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (may be negative), or None when there is none."""
    at = _deadline.get()
    return None if at is None else at - time.monotonic()
