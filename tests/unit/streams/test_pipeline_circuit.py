"""Circuit breakers and 429 parking as the pipeline uses them: state lives in the table dict."""

from __future__ import annotations

import pytest

from adapters.errors import ErrorCode, RateLimited, Unavailable, ValidationFailed
from schemas.envelopes import CommandType
from streams.inbox import InboxEntry, Phase
from tests.unit.streams.fakes import DENTRIX, EAGLESOFT, NAMES, FakeClock, Harness, command

KEY = f"{DENTRIX}|{'DENTRIX'}"  # fail_max=3, reset_timeout_seconds=30 (fakes.registry_document)


async def _trip(harness: Harness) -> None:
    harness.dentrix.will("list_locations", *[Unavailable("503")] * 3)
    for _ in range(3):
        await harness.send(command(CommandType.LIST_LOCATIONS))


def _moves(harness: Harness) -> list[tuple[str, str]]:
    return [(t.old, t.new) for t in harness.transitions]


async def test_fail_max_retryable_failures_open_the_circuit_and_notify(harness: Harness) -> None:
    harness.dentrix.will("list_locations", *[Unavailable("503")] * 2)
    for _ in range(2):
        await harness.send(command(CommandType.LIST_LOCATIONS))
    assert harness.circuit_table[KEY]["state"] == "closed"

    harness.dentrix.will("list_locations", Unavailable("503"))
    await harness.send(command(CommandType.LIST_LOCATIONS))

    assert harness.circuit_table[KEY]["state"] == "open"
    assert _moves(harness) == [("closed", "open")]
    [opened] = harness.transitions
    assert (opened.practice_id, opened.pms, opened.failures) == (DENTRIX, "DENTRIX", 3)
    assert len(harness.retries()) == 3  # the call that tripped it still retries normally


async def test_an_open_circuit_rejects_without_calling_and_without_burning_an_attempt(
    harness: Harness,
) -> None:
    await _trip(harness)
    calls = len(harness.dentrix.calls)
    envelope = command(CommandType.LIST_LOCATIONS)
    [copy] = await harness.send(envelope)

    assert len(harness.dentrix.calls) == calls
    assert copy.topic == NAMES.retries[1]  # the 60 s tier covers the 30 s still to wait
    assert copy.hop is not None
    assert (copy.hop.attempts, copy.hop.error_code) == (0, ErrorCode.CIRCUIT_OPEN.value)
    entry = InboxEntry.from_json(harness.inbox[str(envelope.command_id)])
    assert (entry.phase, entry.attempts) == (Phase.SCHEDULED, 0)
    assert harness.errors() == []


async def test_a_command_rejected_after_a_failure_keeps_its_attempt_count(harness: Harness) -> None:
    harness.dentrix.will("list_locations", Unavailable("503"))
    await harness.send(command(CommandType.LIST_LOCATIONS))  # attempt 1 of the command under test
    await _trip(harness)

    [rejected] = await harness.next_due()
    assert rejected.hop is not None
    assert (rejected.hop.attempts, rejected.hop.error_code) == (1, "CIRCUIT_OPEN")


async def test_after_the_reset_timeout_a_trial_call_closes_the_circuit(
    harness: Harness, clock: FakeClock
) -> None:
    await _trip(harness)
    clock.advance(31)
    await harness.send(command(CommandType.VALIDATE_CONNECTION))

    assert harness.dentrix.called("validate_connection") == [()]
    assert harness.circuit_table[KEY]["state"] == "closed"
    assert _moves(harness) == [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]
    assert len(harness.results()) == 1


async def test_a_failed_trial_call_opens_the_circuit_again(harness: Harness, clock: FakeClock) -> None:
    await _trip(harness)
    clock.advance(31)
    harness.dentrix.will("list_locations", Unavailable("still down"))
    await harness.send(command(CommandType.LIST_LOCATIONS))

    assert harness.circuit_table[KEY]["state"] == "open"
    assert harness.circuit_table[KEY]["opened_at"] == pytest.approx(clock())
    assert _moves(harness)[-2:] == [("open", "half-open"), ("half-open", "open")]


async def test_the_rejected_copy_succeeds_once_the_circuit_has_closed(harness: Harness) -> None:
    await _trip(harness)
    envelope = command(CommandType.LIST_LOCATIONS)
    await harness.send(envelope)
    await harness.drain()  # the three tripping commands retry too; everything is up again

    answered = {r.command_id: r.attempts for r in harness.results()}
    assert answered[envelope.command_id] == 1
    assert harness.circuit_table[KEY]["state"] == "closed"


async def test_permanent_errors_do_not_count_against_the_circuit(harness: Harness) -> None:
    harness.dentrix.will("create_patient", *[ValidationFailed("field rejected")] * 5)
    for _ in range(5):
        await harness.send(command(CommandType.CREATE_PATIENT))

    assert harness.board.state(DENTRIX, "DENTRIX") == "closed"
    assert harness.transitions == []


async def test_a_429_parks_only_its_practice_until_retry_after(harness: Harness, clock: FakeClock) -> None:
    harness.dentrix.will("list_locations", RateLimited("429", retry_after=120.0))
    [first] = await harness.send(command(CommandType.LIST_LOCATIONS))
    assert first.topic == NAMES.retries[2]  # the 600 s tier is the first to cover 120 s
    assert harness.circuit_table[KEY]["parked_until"] == pytest.approx(clock() + 120)

    [parked] = await harness.send(command(CommandType.LIST_OPERATORIES))
    assert harness.dentrix.called("list_operatories") == []
    assert parked.hop is not None
    assert (parked.hop.attempts, parked.hop.error_code) == (0, ErrorCode.RATE_LIMITED.value)

    await harness.send(command(CommandType.LIST_OPERATORIES, practice_id=EAGLESOFT))
    assert harness.adapters[EAGLESOFT].called("list_operatories") == [("L-1",)]
    assert [r.practice_id for r in harness.results()] == [EAGLESOFT]

    clock.advance(120)
    await harness.send(command(CommandType.LIST_OPERATORIES))
    assert harness.dentrix.called("list_operatories") == [("L-1",)]
