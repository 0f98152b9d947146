"""The per-command pipeline with a real codec and registry, dicts for tables and a scriptable adapter."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.domain import Patient
from adapters.errors import (
    Conflict,
    ConnectionLost,
    ErrorCode,
    NotFound,
    PMSError,
    PMSTimeout,
    RateLimited,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from schemas.envelopes import (
    AppointmentList,
    CommandType,
    LocationList,
    OperatoryList,
    PatientList,
)
from streams.dispatch import is_write
from streams.inbox import InboxEntry, Phase
from streams.received import read
from tests.unit.streams.fakes import (
    CODEC,
    DENTRIX,
    EAGLESOFT,
    LAST,
    NAMES,
    PATIENT_DATA,
    PAYLOADS,
    FakeClock,
    Harness,
    RecordingOutbox,
    command,
)

# -- every command type reaches the right adapter method --------------------------------------------------


def _args(command_type: CommandType, reference: str) -> tuple[Any, ...]:
    """The arguments the adapter method of ``command_type`` must get for the sample payload."""
    payload: Any = PAYLOADS[command_type]
    match command_type:
        case CommandType.SEARCH_PATIENTS:
            return (payload.query,)
        case CommandType.CREATE_PATIENT:
            return (payload.patient, reference)
        case CommandType.CREATE_APPOINTMENT:
            return (payload.appointment, reference)
        case CommandType.UPDATE_PATIENT:
            return (payload.patient_id, payload.updates, reference)
        case CommandType.UPDATE_APPOINTMENT:
            return (payload.appointment_id, payload.updates, reference)
        case CommandType.LIST_APPOINTMENTS:
            return (payload.location_id, payload.range)
        case CommandType.LIST_OPERATORIES:
            return (payload.location_id,)
    return ()


@pytest.mark.parametrize(
    ("command_type", "method", "payload_type"),
    [
        (CommandType.SEARCH_PATIENTS, "search_patients", PatientList),
        (CommandType.CREATE_PATIENT, "create_patient", Patient),
        (CommandType.UPDATE_PATIENT, "update_patient", Patient),
        (CommandType.LIST_APPOINTMENTS, "list_appointments", AppointmentList),
        (CommandType.CREATE_APPOINTMENT, "create_appointment", "Appointment"),
        (CommandType.UPDATE_APPOINTMENT, "update_appointment", "Appointment"),
        (CommandType.LIST_LOCATIONS, "list_locations", LocationList),
        (CommandType.LIST_OPERATORIES, "list_operatories", OperatoryList),
        (CommandType.VALIDATE_CONNECTION, "validate_connection", "ConnectionStatus"),
    ],
)
@pytest.mark.parametrize("practice_id", [DENTRIX, EAGLESOFT])
async def test_each_command_type_dispatches_and_answers_with_a_result(
    harness: Harness, command_type: CommandType, method: str, payload_type: Any, practice_id: str
) -> None:
    envelope = command(command_type, practice_id=practice_id)
    sent = await harness.send(envelope)

    adapter = harness.adapters[practice_id]
    assert adapter.calls == [(method, _args(command_type, str(envelope.command_id)))]
    assert [s.topic for s in sent] == [NAMES.results]
    [result] = harness.results()
    assert (result.command_id, result.command_type, result.practice_id) == (
        envelope.command_id,
        command_type,
        practice_id,
    )
    assert result.pms == adapter.kind
    assert result.attempts == 1
    name = payload_type if isinstance(payload_type, str) else payload_type.__name__
    assert type(result.payload).__name__ == name
    if is_write(command_type):
        assert InboxEntry.from_json(harness.inbox[str(envelope.command_id)]).phase is Phase.DONE
    else:  # a read answered at its first try leaves no trace: running it again is harmless
        assert str(envelope.command_id) not in harness.inbox


# -- input that never reaches a PMS -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "key", "ids"),
    [
        pytest.param([], None, (None, None, None), id="no-ids"),
        pytest.param(
            [
                ("ce_id", b"0b6f6c52-1b8c-4a57-9e0c-3a5d1d1f2a10"),
                ("ce_type", b"pms.command.CreatePatient.v1"),
            ],
            DENTRIX.encode(),
            (uuid.UUID("0b6f6c52-1b8c-4a57-9e0c-3a5d1d1f2a10"), CommandType.CREATE_PATIENT, DENTRIX),
            id="ids-from-headers",
        ),
    ],
)
async def test_undecodable_bytes_get_a_validation_error_and_a_raw_dead_letter(
    harness: Harness, headers: list[tuple[str, bytes]], key: bytes | None, ids: tuple[Any, ...]
) -> None:
    garbage = b"\x00not avro at all"
    await harness.feed(harness.raw(garbage, headers, key))

    [error] = harness.errors()
    assert error.code is ErrorCode.VALIDATION
    assert error.retryable is False
    assert (error.command_id, error.command_type, error.practice_id) == ids
    [dead] = harness.on(NAMES.dead_letters)
    assert (dead.message.key, dead.message.value) == (key, garbage)
    assert dead.header("pms-error-code") == "VALIDATION"
    assert dead.header("pms-error-class") == "DecodeError"
    assert dead.header("pms-origin-topic") == NAMES.commands
    assert dead.header("pms-origin-offset") is not None
    assert all(adapter.calls == [] for adapter in harness.adapters.values())


async def test_unknown_practice_is_answered_without_a_pms_call(harness: Harness) -> None:
    envelope = command(CommandType.LIST_LOCATIONS, practice_id="nobody-here")
    await harness.send(envelope)

    [error] = harness.errors()
    assert (error.code, error.command_id, error.practice_id) == (
        ErrorCode.UNKNOWN_PRACTICE,
        envelope.command_id,
        "nobody-here",
    )
    assert harness.results() == []
    assert harness.retries() == []


async def test_expired_command_is_answered_deadline_exceeded_and_never_sent_to_the_pms(
    harness: Harness, clock: FakeClock
) -> None:
    now = datetime.fromtimestamp(clock(), UTC)
    envelope = command(CommandType.CREATE_PATIENT, expires_at=now - timedelta(seconds=1))
    await harness.send(envelope)

    [error] = harness.errors()
    assert error.code is ErrorCode.DEADLINE_EXCEEDED
    assert harness.dentrix.calls == []
    assert harness.retries() == []


# -- failures ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ValidationFailed("bad field date_of_birth"), ErrorCode.VALIDATION),
        (NotFound("appointment A-1 not found"), ErrorCode.NOT_FOUND),
        (Conflict("operatory O-1 already booked", http_status=409), ErrorCode.CONFLICT),
        (Unauthorized("credentials refused"), ErrorCode.UNAUTHORIZED),
    ],
)
async def test_permanent_errors_are_answered_at_once_and_never_retried(
    harness: Harness, error: PMSError, code: ErrorCode
) -> None:
    harness.dentrix.will("create_appointment", error)
    envelope = command(CommandType.CREATE_APPOINTMENT)
    await harness.send(envelope)

    [answer] = harness.errors()
    assert (answer.code, answer.retryable, answer.attempts) == (code, False, 1)
    assert answer.message == error.message
    assert answer.http_status == error.http_status
    assert harness.retries() == []
    assert harness.on(NAMES.dead_letters) == []
    assert len(harness.dentrix.calls) == 1
    assert InboxEntry.from_json(harness.inbox[str(envelope.command_id)]).phase is Phase.DONE


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (Unavailable("503 from PMS"), ErrorCode.UNAVAILABLE),
        (ConnectionLost("connection reset"), ErrorCode.UNAVAILABLE),
        (PMSTimeout("read timeout"), ErrorCode.TIMEOUT),
        (RateLimited("429 without Retry-After"), ErrorCode.RATE_LIMITED),
    ],
)
async def test_retryable_error_copies_the_command_to_tier_zero_with_hop_headers(
    harness: Harness, clock: FakeClock, error: PMSError, code: ErrorCode
) -> None:
    harness.dentrix.will("list_locations", error)
    envelope = command(CommandType.LIST_LOCATIONS)
    message = harness.original(envelope, partition=4)
    sent = await harness.feed(message)

    [copy] = sent
    assert copy.topic == NAMES.retries[0]
    assert copy.partition == 4
    assert (copy.message.key, copy.message.value) == (message.key, message.value)
    hop = copy.hop
    assert hop is not None
    assert (hop.hop, hop.attempts, hop.error_code) == (1, 1, code.value)
    assert hop.due_at == datetime.fromtimestamp(clock() + harness.tiers.delays[0], UTC)
    assert abs((hop.first_seen - datetime.fromtimestamp(clock(), UTC)).total_seconds()) < 0.002
    assert (hop.origin.topic, hop.origin.partition, hop.origin.offset) == (NAMES.commands, 4, message.offset)
    assert harness.errors() == []
    assert harness.results() == []


async def test_a_command_that_keeps_failing_walks_every_tier_then_is_dead_lettered_once(
    harness: Harness,
) -> None:
    harness.dentrix.will("list_locations", *[Unavailable("503")] * 10)
    message = harness.original(command(CommandType.LIST_LOCATIONS))
    await harness.feed(message)
    await harness.drain()

    assert [s.topic for s in harness.retries()] == list(NAMES.retries)
    assert [s.hop.attempts for s in harness.retries() if s.hop] == [1, 2, 3]
    assert len(harness.dentrix.calls) == harness.tiers.max_attempts
    [dead] = harness.on(NAMES.dead_letters)
    assert dead.message.value == message.value
    assert dead.header("pms-error-code") == "UNAVAILABLE"
    assert dead.header("pms-attempts") == str(harness.tiers.max_attempts)
    assert dead.header("pms-origin-offset") == str(message.offset)
    [error] = harness.errors()
    assert (error.code, error.attempts, error.retryable) == (
        ErrorCode.UNAVAILABLE,
        harness.tiers.max_attempts,
        True,
    )
    assert harness.results() == []


async def test_a_first_attempt_result_lasts_from_reading_the_command_to_its_answer(harness: Harness) -> None:
    harness.dentrix.on_call = lambda _method, _args: harness.clock.advance(0.412)  # the PMS takes 412 ms
    await harness.send(command(CommandType.LIST_LOCATIONS))
    await harness.drain()

    [result] = harness.results()
    assert (result.attempts, result.duration_ms) == (1, 412)


async def test_success_on_a_retry_copy_answers_once_with_the_attempt_count(harness: Harness) -> None:
    harness.dentrix.will("list_locations", Unavailable("503"), PMSTimeout("slow"))
    await harness.send(command(CommandType.LIST_LOCATIONS))
    await harness.drain()

    [result] = harness.results()
    assert result.attempts == 3
    assert result.duration_ms == 70_000  # first seen at t, answered after the 10 s and 60 s tiers
    assert harness.errors() == []


# -- idempotency ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", [None, Conflict("operatory O-1 already booked")])
async def test_a_done_command_delivered_again_gets_the_same_answer_without_a_pms_call(
    harness: Harness, outcome: PMSError | None
) -> None:
    if outcome is not None:
        harness.dentrix.will("create_appointment", outcome)
    message = harness.original(command(CommandType.CREATE_APPOINTMENT))
    [first] = await harness.feed(message)
    [again] = await harness.feed(message)

    assert len(harness.dentrix.calls) == 1
    assert again.topic == first.topic
    assert (again.message.key, again.message.value) == (first.message.key, first.message.value)
    assert again.header("ce_id") == first.header("ce_id")  # the same event: consumers can drop the duplicate


async def test_a_stale_copy_is_dropped(harness: Harness) -> None:
    harness.dentrix.will("create_patient", Unavailable("503"), Unavailable("503"))
    original = harness.original(command(CommandType.CREATE_PATIENT))
    await harness.feed(original)
    first_copy = harness.pending[0]
    await harness.next_due()  # the second attempt fails: a hop-2 copy is now live

    assert await harness.feed(original) == []
    assert await harness.feed(harness.as_incoming(first_copy)) == []
    assert len(harness.dentrix.called("create_patient")) == 2


async def test_in_flight_is_durable_before_the_write_reaches_the_pms(harness: Harness) -> None:
    envelope = command(CommandType.CREATE_PATIENT)
    seen: list[tuple[str | None, int]] = []

    def inspect(method: str, args: tuple[Any, ...]) -> None:
        raw = harness.inbox.get(str(envelope.command_id))
        seen.append((raw and raw["phase"], harness.outbox.durable_calls))

    harness.dentrix.on_call = inspect
    await harness.send(envelope)

    assert seen == [("IN_FLIGHT", 1)]


async def test_reads_record_nothing_before_the_call(harness: Harness) -> None:
    envelope = command(CommandType.LIST_LOCATIONS)
    harness.dentrix.on_call = lambda *_: seen.append(harness.inbox.get(str(envelope.command_id)))
    seen: list[Any] = []
    await harness.send(envelope)
    assert seen == [None]


# -- outcome unknown: reconcile instead of writing twice --------------------------------------------------


async def _unknown_write(harness: Harness) -> str:
    harness.dentrix.will("create_patient", PMSTimeout("no answer after send", outcome_unknown=True))
    envelope = command(CommandType.CREATE_PATIENT)
    await harness.send(envelope)
    entry = InboxEntry.from_json(harness.inbox[str(envelope.command_id)])
    assert entry.phase is Phase.IN_FLIGHT
    return str(envelope.command_id)


async def test_unknown_outcome_found_in_the_pms_is_answered_without_a_second_write(harness: Harness) -> None:
    command_id = await _unknown_write(harness)
    stored = Patient(id="P-77", first_name="X", last_name="Y", external_reference=command_id)
    harness.dentrix.found = stored
    await harness.drain()

    assert harness.dentrix.called("find_by_reference") == [(command_id,)]
    assert len(harness.dentrix.called("create_patient")) == 1
    [result] = harness.results()
    assert result.payload == stored
    assert result.attempts == 1


async def test_unknown_outcome_not_found_waits_out_the_grace_then_writes(
    harness: Harness, clock: FakeClock
) -> None:
    start = clock()
    await _unknown_write(harness)

    await harness.next_due()  # 10 s later: not found, still inside the 30 s grace
    assert len(harness.dentrix.called("create_patient")) == 1
    [wait] = harness.pending
    assert wait.hop is not None
    assert wait.hop.attempts == 1
    assert harness.results() == []
    assert harness.errors() == []

    await harness.drain()
    assert clock() - start >= harness.reconcile_grace_seconds
    assert len(harness.dentrix.called("create_patient")) == 2
    assert len(harness.dentrix.called("find_by_reference")) == 3  # at +10, +20, +30 s
    [result] = harness.results()
    assert result.attempts == 2


async def test_a_transient_failure_while_reconciling_is_retried(harness: Harness) -> None:
    await _unknown_write(harness)
    harness.dentrix.will("find_by_reference", Unavailable("503 during lookup"))
    await harness.next_due()

    assert harness.errors() == []
    assert harness.on(NAMES.dead_letters) == []
    assert len(harness.pending) == 1


# -- bugs in the code below the pipeline ----------------------------------------------------------------


async def test_a_non_pms_exception_is_answered_internal_and_dead_lettered(harness: Harness) -> None:
    harness.dentrix.will("list_locations", KeyError("locationId"))
    envelope = command(CommandType.LIST_LOCATIONS)
    message = harness.original(envelope)
    await harness.feed(message)  # does not raise

    [error] = harness.errors()
    assert (error.code, error.command_id, error.retryable) == (ErrorCode.INTERNAL, envelope.command_id, False)
    [dead] = harness.on(NAMES.dead_letters)
    assert dead.message.value == message.value
    assert (dead.header("pms-error-code"), dead.header("pms-error-class")) == ("INTERNAL", "KeyError")


async def test_a_write_that_crashed_after_in_flight_is_not_written_again_on_redelivery(
    harness: Harness,
) -> None:
    harness.dentrix.will("create_patient", RuntimeError("mapping bug after the POST"))
    message = harness.original(command(CommandType.CREATE_PATIENT))
    await harness.feed(message)
    await harness.feed(message)  # e.g. a rebalance before the offset was committed

    assert len(harness.dentrix.called("create_patient")) == 1


# -- patient data never leaves through logs, error messages or hop headers --------------------------------


def _leaks(text: str) -> list[str]:
    return [marker for marker in PATIENT_DATA if marker in text]


async def test_no_patient_data_in_logs_error_messages_or_hop_headers(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for command_type, error in [
        (CommandType.SEARCH_PATIENTS, Unavailable("503")),
        (CommandType.CREATE_PATIENT, PMSTimeout("timeout", outcome_unknown=True)),
        (CommandType.UPDATE_PATIENT, ValidationFailed("field email rejected")),
        (CommandType.CREATE_APPOINTMENT, KeyError("operatoryId")),
        (CommandType.UPDATE_APPOINTMENT, Unavailable("503")),
    ]:
        harness.dentrix.will(harness_method(command_type), error, *[Unavailable("503")] * 5)
        await harness.send(command(command_type))
    await harness.drain()
    expired = command(CommandType.CREATE_PATIENT, expires_at=datetime(2025, 6, 1, tzinfo=UTC))
    await harness.send(expired)

    assert _leaks(caplog.text) == []
    assert all(_leaks(error.message) == [] for error in harness.errors())
    for copy in harness.retries() + harness.on(NAMES.dead_letters):
        headers = " ".join(v.decode() for k, v in copy.message.headers if k.startswith("pms-"))
        assert _leaks(headers) == []


async def test_no_patient_data_in_logs_when_the_adapter_raises_a_raw_validation_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    try:  # what a mapping bug in an adapter raises: pydantic quotes the offending input
        Patient.model_validate({"id": "P-1", "first_name": "A", "last_name": "B", "date_of_birth": LAST})
    except ValidationError as exc:
        raw_error = exc
    harness.dentrix.will("search_patients", raw_error)
    await harness.send(command(CommandType.SEARCH_PATIENTS))

    assert harness.errors()[0].code is ErrorCode.INTERNAL
    assert _leaks(caplog.text) == []


def harness_method(command_type: CommandType) -> str:
    return {
        CommandType.SEARCH_PATIENTS: "search_patients",
        CommandType.CREATE_PATIENT: "create_patient",
        CommandType.UPDATE_PATIENT: "update_patient",
        CommandType.CREATE_APPOINTMENT: "create_appointment",
        CommandType.UPDATE_APPOINTMENT: "update_appointment",
    }[command_type]


# -- deadlines --------------------------------------------------------------------------------------------


async def test_a_retry_that_would_be_due_after_the_deadline_is_answered_now(
    harness: Harness, clock: FakeClock
) -> None:
    expires = datetime.fromtimestamp(clock() + 5, UTC)
    harness.dentrix.will("list_locations", Unavailable("503"))
    await harness.send(command(CommandType.LIST_LOCATIONS, expires_at=expires))

    [error] = harness.errors()
    assert error.code is ErrorCode.DEADLINE_EXCEEDED
    assert harness.retries() == []


async def test_the_pms_call_runs_inside_a_deadline_scope(harness: Harness) -> None:
    from adapters.deadline import remaining

    budgets: list[float | None] = []
    harness.dentrix.on_call = lambda *_: budgets.append(remaining())
    await harness.send(command(CommandType.LIST_LOCATIONS))

    [budget] = budgets
    assert budget is not None
    assert 0 < budget <= 30.0


async def test_an_expired_in_flight_write_is_reconciled_before_it_is_answered(
    harness: Harness, clock: FakeClock
) -> None:
    expires = datetime.fromtimestamp(clock() + 15, UTC)
    harness.dentrix.will("create_patient", PMSTimeout("no answer after send", outcome_unknown=True))
    envelope = command(CommandType.CREATE_PATIENT, expires_at=expires)
    await harness.send(envelope)
    harness.dentrix.found = Patient(id="P-5", first_name="X", last_name="Y")
    [copy] = harness.pending
    clock.advance(20)  # the consumer lagged: the copy is read after the command's deadline
    await harness.feed(harness.as_incoming(copy))

    assert [r.command_id for r in harness.results()] == [envelope.command_id]


class _BrokenOutbox(RecordingOutbox):
    async def send(self, *_: Any, **__: Any) -> None:
        raise ConnectionError("broker unreachable")

    async def durable(self) -> None:
        raise ConnectionError("broker unreachable")


async def test_handle_never_raises_even_when_nothing_can_be_sent(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    harness = Harness(clock, outbox=_BrokenOutbox())
    for message in (
        harness.original(command(CommandType.LIST_LOCATIONS)),
        harness.original(command(CommandType.CREATE_PATIENT)),
        harness.raw(b"junk"),
    ):
        await harness.pipeline.handle(read(message, CODEC))
    assert "could not answer an internal error" in caplog.text
