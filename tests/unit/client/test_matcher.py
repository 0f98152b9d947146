"""Request/reply matching without Kafka: decoded answers are fed straight to the matcher."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from adapters.errors import ErrorCode
from client.relay import Delivery, ReplyMatcher
from schemas.envelopes import CommandType, ErrorEnvelope, ResultEnvelope
from tests.fixtures.schemas.samples import ERRORS, T0, result


def _result(command_id: uuid.UUID) -> ResultEnvelope:
    return result(CommandType.LIST_LOCATIONS).model_copy(update={"command_id": command_id})


def _error(command_id: uuid.UUID | None) -> ErrorEnvelope:
    return ERRORS["full"].model_copy(update={"command_id": command_id})


async def test_an_answer_completes_its_own_request_only() -> None:
    matcher = ReplyMatcher()
    first, second = uuid.uuid4(), uuid.uuid4()
    f1, f2 = matcher.expect(first), matcher.expect(second)

    assert matcher.deliver(_result(second)) is Delivery.MATCHED

    assert f2.done()
    assert f2.result().command_id == second
    assert not f1.done()
    assert matcher.pending == 1


async def test_error_answers_complete_requests_too() -> None:
    matcher = ReplyMatcher()
    command_id = uuid.uuid4()
    future = matcher.expect(command_id)

    assert matcher.deliver(_error(command_id)) is Delivery.MATCHED

    answer = future.result()
    assert isinstance(answer, ErrorEnvelope)
    assert answer.code is ErrorCode.CONFLICT


async def test_error_without_ids_is_matched_by_its_correlation_header() -> None:
    matcher = ReplyMatcher()
    command_id = uuid.uuid4()
    future = matcher.expect(command_id)

    assert matcher.deliver(_error(None), correlation_id=command_id) is Delivery.MATCHED
    assert future.done()


@pytest.mark.parametrize(
    ("second_answer", "expected"),
    [
        pytest.param("result", Delivery.DUPLICATE, id="result-then-result"),
        pytest.param("error", Delivery.DUPLICATE, id="result-then-error"),
    ],
)
async def test_only_the_first_answer_counts(second_answer: str, expected: Delivery) -> None:
    matcher = ReplyMatcher()
    command_id = uuid.uuid4()
    future = matcher.expect(command_id)
    first = _result(command_id)
    matcher.deliver(first)

    again = _result(command_id).model_copy(update={"attempts": 9}) if second_answer == "result" else None
    outcome = matcher.deliver(again or _error(command_id))

    assert outcome is expected
    assert future.result() is first


@pytest.mark.parametrize(
    ("command_id", "correlation_id"),
    [
        pytest.param(uuid.uuid4(), None, id="someone-elses-command"),
        pytest.param(None, None, id="no-id-at-all"),
        pytest.param(None, uuid.uuid4(), id="someone-elses-correlation"),
    ],
)
async def test_unknown_answers_are_ignored(
    command_id: uuid.UUID | None, correlation_id: uuid.UUID | None
) -> None:
    matcher = ReplyMatcher()
    mine = matcher.expect(uuid.uuid4())
    answer = _error(command_id) if command_id is None else _result(command_id)

    assert matcher.deliver(answer, correlation_id) is Delivery.UNKNOWN
    assert not mine.done()
    assert matcher.pending == 1


async def test_an_answer_after_the_caller_gave_up_is_late() -> None:
    matcher = ReplyMatcher()
    command_id = uuid.uuid4()
    matcher.expect(command_id)
    matcher.forget(command_id)

    assert matcher.deliver(_result(command_id)) is Delivery.LATE
    assert matcher.pending == 0


async def test_a_command_id_can_be_awaited_again_after_a_timeout() -> None:
    # Resending after a ReplyTimeout reuses the id, so the same id must be expectable again.
    matcher = ReplyMatcher()
    command_id = uuid.uuid4()
    matcher.expect(command_id)
    matcher.forget(command_id)
    future = matcher.expect(command_id)

    assert matcher.deliver(_result(command_id)) is Delivery.MATCHED
    assert future.done()


async def test_one_id_cannot_be_awaited_twice_at_once() -> None:
    matcher = ReplyMatcher()
    command_id = uuid.uuid4()
    matcher.expect(command_id)
    with pytest.raises(ValueError, match="already awaiting"):
        matcher.expect(command_id)


async def test_a_cancelled_waiter_does_not_break_delivery() -> None:
    matcher = ReplyMatcher()
    command_id = uuid.uuid4()
    matcher.expect(command_id).cancel()

    assert matcher.deliver(_result(command_id)) is Delivery.MATCHED


async def test_memory_of_finished_ids_is_bounded() -> None:
    matcher = ReplyMatcher(remember=3)
    ids = [uuid.uuid4() for _ in range(5)]
    for command_id in ids:
        matcher.expect(command_id)
        matcher.deliver(_result(command_id))

    assert matcher.deliver(_result(ids[0])) is Delivery.UNKNOWN  # forgotten: still not matched twice
    assert matcher.deliver(_result(ids[-1])) is Delivery.DUPLICATE


async def test_close_fails_every_pending_request() -> None:
    matcher = ReplyMatcher()
    futures = [matcher.expect(uuid.uuid4()) for _ in range(3)]
    matcher.close(RuntimeError("closed"))

    await asyncio.sleep(0)
    assert all(isinstance(f.exception(), RuntimeError) for f in futures)
    assert matcher.pending == 0


async def test_many_concurrent_requests_each_get_their_answer() -> None:
    matcher = ReplyMatcher()
    ids = [uuid.uuid4() for _ in range(200)]
    futures = {command_id: matcher.expect(command_id) for command_id in ids}
    for command_id in reversed(ids):
        matcher.deliver(_result(command_id).model_copy(update={"completed_at": T0 + timedelta(seconds=1)}))

    answers = await asyncio.gather(*futures.values())
    assert [a.command_id for a in answers] == ids
