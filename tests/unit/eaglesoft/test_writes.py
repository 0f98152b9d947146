from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from adapters.eaglesoft.writes import (
    PollPolicy,
    WriteState,
    WriteStatus,
    await_write,
    next_poll_wait,
    parse_accepted,
    parse_write_status,
    poll_delay,
)
from adapters.errors import (
    ErrorCode,
    NotFound,
    PMSError,
    PMSTimeout,
    Unauthorized,
    Unavailable,
    ValidationFailed,
    WriteFailed,
)

POLICY = PollPolicy(initial=0.1, max_delay=1.0)


@pytest.mark.parametrize(("polls", "delay"), [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (50, 1.0)])
def test_poll_delay(polls: int, delay: float) -> None:
    assert poll_delay(polls, POLICY) == pytest.approx(delay)


@pytest.mark.parametrize(
    ("polls", "remaining", "wait"),
    [
        (1, None, 0.1),  # no deadline: the backoff
        (1, 10.0, 0.1),
        (4, 0.5, 0.45),  # the last wait is shortened to leave a final poll before the deadline
        (1, 0.0, None),
        (1, -1.0, None),
    ],
)
def test_next_poll_wait(polls: int, remaining: float | None, wait: float | None) -> None:
    got = next_poll_wait(polls, POLICY, remaining)
    assert got == (None if wait is None else pytest.approx(wait))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"Status": "Pending", "EntityId": None}, WriteStatus("w1", WriteState.PENDING)),
        ({"Status": "Completed", "EntityId": 42}, WriteStatus("w1", WriteState.COMPLETED, entity_id="42")),
        (
            {"Status": "Failed", "ErrorCode": "InvalidChair", "Reason": "LocationId is not a chair"},
            WriteStatus("w1", WriteState.FAILED, error_code="InvalidChair"),
        ),
    ],
)
def test_parse_write_status(body: dict[str, Any], expected: WriteStatus) -> None:
    assert parse_write_status(body, "w1") == expected


@pytest.mark.parametrize("body", [[], {"Status": "Weird"}, {"Status": "Completed", "EntityId": None}])
def test_parse_write_status_refuses_odd_answers(body: Any) -> None:
    with pytest.raises(PMSError):
        parse_write_status(body, "w1")


@pytest.mark.parametrize("body", [{"WriteId": ""}, {}, []])
def test_parse_accepted_needs_a_write_id(body: Any) -> None:
    with pytest.raises(PMSError):
        parse_accepted(body)


class Clock:
    """A budget that shrinks by what the fake sleep sleeps."""

    def __init__(self, budget: float) -> None:
        self.left = budget
        self.slept: list[float] = []

    def remaining(self) -> float:
        return self.left

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.left -= seconds


def script(*answers: WriteStatus | PMSError) -> Callable[[], Awaitable[WriteStatus]]:
    queue = list(answers)

    async def poll() -> WriteStatus:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, PMSError):
            raise answer
        return answer

    return poll


PENDING = WriteStatus("w1", WriteState.PENDING)
DONE = WriteStatus("w1", WriteState.COMPLETED, entity_id="7")


async def _wait(poll: Callable[[], Awaitable[WriteStatus]], clock: Clock) -> str:
    return await await_write(
        poll,
        write_id="w1",
        what="create appointment",
        policy=POLICY,
        remaining=clock.remaining,
        sleep=clock.sleep,
    )


async def test_completed_after_backoff() -> None:
    clock = Clock(10.0)
    assert await _wait(script(PENDING, PENDING, PENDING, DONE), clock) == "7"
    assert clock.slept == pytest.approx([0.1, 0.2, 0.4])


@pytest.mark.parametrize(
    ("code", "kind", "error_code", "retryable"),
    [
        ("InvalidPatient", ValidationFailed, ErrorCode.VALIDATION, False),
        ("InvalidChair", ValidationFailed, ErrorCode.VALIDATION, False),
        ("NotFound", NotFound, ErrorCode.NOT_FOUND, False),
        ("RecordLocked", Unavailable, ErrorCode.UNAVAILABLE, True),
        ("ServerBusy", Unavailable, ErrorCode.UNAVAILABLE, True),
        ("SomethingNew", WriteFailed, ErrorCode.INTERNAL, False),
    ],
)
async def test_failed_later(code: str, kind: type[PMSError], error_code: ErrorCode, retryable: bool) -> None:
    failed = WriteStatus("w1", WriteState.FAILED, error_code=code)
    with pytest.raises(kind) as raised:
        await _wait(script(PENDING, failed), Clock(10.0))
    assert (raised.value.code, raised.value.retryable) == (error_code, retryable)
    assert not raised.value.outcome_unknown  # Failed: nothing was applied
    assert "w1" in raised.value.message


async def test_pending_past_the_deadline_is_outcome_unknown() -> None:
    clock = Clock(1.0)
    with pytest.raises(PMSTimeout) as raised:
        await _wait(script(PENDING), clock)
    assert raised.value.outcome_unknown
    assert raised.value.retryable
    assert sum(clock.slept) < 1.0  # never slept past the deadline


async def test_transient_poll_failures_keep_polling() -> None:
    clock = Clock(10.0)
    assert await _wait(script(Unavailable("503"), PENDING, DONE), clock) == "7"


async def test_poll_failing_until_the_deadline_is_outcome_unknown() -> None:
    with pytest.raises(PMSTimeout) as raised:
        await _wait(script(Unavailable("503")), Clock(0.5))
    assert raised.value.outcome_unknown
    assert isinstance(raised.value.__cause__, Unavailable)


async def test_permanent_poll_failure_is_outcome_unknown() -> None:
    with pytest.raises(Unauthorized) as raised:
        await _wait(script(PENDING, Unauthorized("401")), Clock(10.0))
    assert raised.value.outcome_unknown
