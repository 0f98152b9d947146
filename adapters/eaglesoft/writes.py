"""Eaglesoft's asynchronous writes: accepted now, decided later.

``POST``/``PUT`` answer ``202 {"WriteId", "Status": "Pending"}``; ``GET /writes/{WriteId}`` answers
``Pending``, ``Completed`` with ``EntityId``, or ``Failed`` with ``ErrorCode``. :func:`await_write` polls with a
capped exponential backoff (:func:`poll_delay`, pure) and never past the caller's deadline:

- ``Completed`` -> the entity id (the adapter then reads the record back);
- ``Failed`` -> the error :func:`adapters.eaglesoft.errors.write_failure` chooses by code (outcome known);
- still ``Pending`` at the deadline, or the status cannot be read any more -> an error with
  ``outcome_unknown=True``: the write may yet land, so the caller must reconcile with ``find_by_reference``
  rather than write again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from adapters.eaglesoft.errors import write_failure
from adapters.errors import PMSError, PMSTimeout, RetryableError

__all__ = [
    "PollPolicy",
    "WriteState",
    "WriteStatus",
    "await_write",
    "next_poll_wait",
    "parse_accepted",
    "parse_write_status",
    "poll_delay",
]

_log = logging.getLogger(__name__)


class WriteState(StrEnum):
    PENDING = "Pending"
    COMPLETED = "Completed"
    FAILED = "Failed"


@dataclass(frozen=True)
class WriteStatus:
    write_id: str
    state: WriteState
    entity_id: str | None = None
    error_code: str | None = None


@dataclass(frozen=True)
class PollPolicy:
    """Backoff between polls of one write: ``initial`` doubling (``factor``) up to ``max_delay``."""

    initial: float = 0.05
    max_delay: float = 1.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.max_delay:
            raise ValueError("need 0 < initial <= max_delay")
        if self.factor < 1:
            raise ValueError("factor must be >= 1")


def poll_delay(polls_done: int, policy: PollPolicy) -> float:
    """Seconds to wait after the ``polls_done``-th poll (1-based) still answered Pending."""
    return min(policy.max_delay, policy.initial * policy.factor ** max(0, polls_done - 1))


def next_poll_wait(polls_done: int, policy: PollPolicy, remaining: float | None) -> float | None:
    """The wait before the next poll, or None when the deadline leaves no room for one.

    The last wait is shortened so that one final poll happens just before the deadline instead of giving
    up a whole backoff step early.
    """
    delay = poll_delay(polls_done, policy)
    if remaining is None:
        return delay
    if remaining <= 0:
        return None
    # Keep a sliver of the budget for the poll request itself.
    room = remaining * 0.9
    return None if room <= 0 else min(delay, room)


def parse_accepted(body: Any) -> str:
    """The ``WriteId`` of a 202 answer."""
    write_id = body.get("WriteId") if isinstance(body, dict) else None
    if write_id is None or write_id == "":
        raise PMSError("Eaglesoft accepted a write without a WriteId")
    return str(write_id)


def parse_write_status(body: Any, write_id: str) -> WriteStatus:
    """A ``GET /writes/{id}`` answer; an unknown status is a dialect error, not a silent Pending."""
    if not isinstance(body, dict):
        raise PMSError(f"Eaglesoft write {write_id}: status answer is not a JSON object")
    try:
        state = WriteState(str(body.get("Status")))
    except ValueError:
        raise PMSError(f"Eaglesoft write {write_id}: unknown write status") from None
    entity = body.get("EntityId")
    code = body.get("ErrorCode")
    if state is WriteState.COMPLETED and (entity is None or entity == ""):
        raise PMSError(f"Eaglesoft write {write_id}: completed without an EntityId")
    return WriteStatus(
        write_id=write_id,
        state=state,
        entity_id=None if entity is None else str(entity),
        error_code=code if isinstance(code, str) and code else None,
    )


async def await_write(
    poll: Callable[[], Awaitable[WriteStatus]],
    *,
    write_id: str,
    what: str,
    policy: PollPolicy,
    remaining: Callable[[], float | None],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> str:
    """Poll until the write completes (its entity id is returned), fails, or the deadline passes.

    ``remaining`` is the caller's budget in seconds (the adapter always sets one around a write).
    """
    polls = 0
    last_error: PMSError | None = None
    while True:
        polls += 1
        try:
            status = await poll()
        except RetryableError as exc:
            status = None
            last_error = exc  # transient: keep polling while the deadline allows
        except PMSError as exc:
            exc.outcome_unknown = True
            raise
        if status is not None:
            if status.state is WriteState.COMPLETED:
                assert status.entity_id is not None  # parse_write_status guarantees it
                return status.entity_id
            if status.state is WriteState.FAILED:
                _log.info("eaglesoft write failed write_id=%s code=%s", write_id, status.error_code)
                raise write_failure(write_id, status.error_code, what=what)
        wait = next_poll_wait(polls, policy, remaining())
        if wait is None:
            break
        await sleep(wait)
    _log.warning("eaglesoft write outcome unknown at deadline write_id=%s polls=%d", write_id, polls)
    error = PMSTimeout(
        f"Eaglesoft {what}: write {write_id} still pending at the deadline", outcome_unknown=True
    )
    raise error from (last_error if status is None else None)
