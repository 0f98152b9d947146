"""The client's pure parts: building commands, error events as typed exceptions, topic names."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from adapters.deadline import deadline_scope
from adapters.errors import ErrorCode
from client.relay import (
    AccessDenied,
    ClientTopics,
    CommandFailed,
    ConflictError,
    DeadlineExceededError,
    InvalidCommand,
    NotFoundError,
    PMSUnavailableError,
    ReplyTimeout,
    UnknownPracticeError,
    UnsupportedError,
    build_command,
    command_failed,
)
from schemas.envelopes import CommandType, ListLocationsPayload
from tests.fixtures.schemas.samples import COMMAND_PAYLOADS, ERRORS, T0
from topology import TopicNames


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (ErrorCode.VALIDATION, InvalidCommand),
        (ErrorCode.NOT_FOUND, NotFoundError),
        (ErrorCode.CONFLICT, ConflictError),
        (ErrorCode.UNAUTHORIZED, AccessDenied),
        (ErrorCode.FORBIDDEN, AccessDenied),
        (ErrorCode.UNSUPPORTED, UnsupportedError),
        (ErrorCode.UNKNOWN_PRACTICE, UnknownPracticeError),
        (ErrorCode.DEADLINE_EXCEEDED, DeadlineExceededError),
        (ErrorCode.UNAVAILABLE, PMSUnavailableError),
        (ErrorCode.TIMEOUT, PMSUnavailableError),
        (ErrorCode.RATE_LIMITED, PMSUnavailableError),
        (ErrorCode.CIRCUIT_OPEN, PMSUnavailableError),
        (ErrorCode.INTERNAL, CommandFailed),
    ],
)
def test_each_error_code_raises_its_exception(code: ErrorCode, kind: type[CommandFailed]) -> None:
    envelope = ERRORS["full"].model_copy(update={"code": code})
    exc = command_failed(envelope)
    assert type(exc) is kind
    assert exc.code is code


def test_every_error_code_is_mapped() -> None:
    for code in ErrorCode:
        assert isinstance(command_failed(ERRORS["full"].model_copy(update={"code": code})), CommandFailed)


def test_the_exception_carries_the_error_event() -> None:
    envelope = ERRORS["full"]
    exc = command_failed(envelope)
    assert (exc.message, exc.retryable, exc.http_status, exc.attempts, exc.command_id) == (
        envelope.message,
        envelope.retryable,
        envelope.http_status,
        envelope.attempts,
        envelope.command_id,
    )
    assert str(exc) == f"CONFLICT: {envelope.message}"


def test_reply_timeout_is_a_timeout_error_naming_the_command() -> None:
    command_id = uuid.uuid4()
    exc = ReplyTimeout(command_id, 2.5)
    assert isinstance(exc, TimeoutError)
    assert str(command_id) in str(exc)


@pytest.mark.parametrize("command_type", list(CommandType))
def test_build_command_types_the_command_by_its_payload(command_type: CommandType) -> None:
    command = build_command("practice-1", COMMAND_PAYLOADS[command_type], now=T0)
    assert command.command_type is command_type
    assert command.practice_id == "practice-1"
    assert command.issued_at == T0
    assert command.expires_at is None


@pytest.mark.parametrize(
    ("deadline", "scope", "expected"),
    [
        pytest.param(None, None, None, id="none"),
        pytest.param(10.0, None, timedelta(seconds=10), id="explicit"),
        pytest.param(10.0, 300.0, timedelta(seconds=10), id="explicit-wins-over-scope"),
    ],
)
def test_build_command_sets_expires_at_from_the_deadline(
    deadline: float | None, scope: float | None, expected: timedelta | None
) -> None:
    with deadline_scope(seconds=scope):
        command = build_command("p", ListLocationsPayload(), deadline=deadline, now=T0)
    assert command.expires_at == (T0 + expected if expected is not None else None)


def test_build_command_takes_the_deadline_of_an_enclosing_scope() -> None:
    with deadline_scope(seconds=60):
        command = build_command("p", ListLocationsPayload())
    assert command.expires_at is not None
    assert timedelta(seconds=50) < command.expires_at - command.issued_at <= timedelta(seconds=60)


def test_build_command_keeps_a_given_id_and_requester() -> None:
    command_id = uuid.uuid4()
    command = build_command("p", ListLocationsPayload(), command_id=command_id, requested_by="user-7")
    assert (command.command_id, command.requested_by) == (command_id, "user-7")


def test_fresh_ids_differ() -> None:
    assert (
        build_command("p", ListLocationsPayload()).command_id
        != build_command("p", ListLocationsPayload()).command_id
    )


@pytest.mark.parametrize("prefix", ["", "staging."])
def test_topic_names_are_the_workers(prefix: str) -> None:
    names = TopicNames(prefix=prefix)
    assert ClientTopics.for_prefix(prefix) == ClientTopics(names.commands, names.results, names.errors)
