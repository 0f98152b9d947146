"""Redriving a dead letter: a read runs again, a write is reconciled before it is written, once per redrive."""

from __future__ import annotations

from adapters.errors import PMSTimeout, Unavailable
from schemas.envelopes import CommandType
from streams.redrive import REDRIVE, read_dead_letter, redrive_copy
from tests.unit.streams.fakes import NAMES, Harness, _appointment, command

_DOWN = [Unavailable("503")] * 4  # one failure per attempt: the first try and three tiers


async def _dead_lettered(
    harness: Harness, command_type: CommandType, *failures: Exception
) -> tuple[object, ...]:
    method = {
        CommandType.LIST_LOCATIONS: "list_locations",
        CommandType.CREATE_APPOINTMENT: "create_appointment",
    }
    harness.dentrix.will(method[command_type], *failures)
    envelope = command(command_type)
    await harness.send(envelope)
    await harness.drain()
    [letter] = harness.on(NAMES.dead_letters)
    harness.clock.advance(3600)  # the cause is fixed and the practice's circuit has long half-opened
    return envelope, letter


def _redrive(harness: Harness, letter: object, redrive: str = "r-1") -> object:
    message = letter.message  # type: ignore[attr-defined]
    return harness.raw(message.value, redrive_copy(message.headers, redrive), message.key)


async def test_a_redriven_read_runs_again_with_attempts_reset(harness: Harness) -> None:
    envelope, letter = await _dead_lettered(harness, CommandType.LIST_LOCATIONS, *_DOWN)
    before = len(harness.dentrix.called("list_locations"))

    await harness.feed(_redrive(harness, letter))

    assert len(harness.dentrix.called("list_locations")) == before + 1
    [result] = harness.results()
    assert result.command_id == envelope.command_id  # type: ignore[attr-defined]
    assert result.attempts == 1


async def test_a_redriven_write_found_in_the_pms_is_not_written_again(harness: Harness) -> None:
    # The last attempt timed out after sending: the write may have landed before the command was dead-lettered.
    failures = [*_DOWN[:3], PMSTimeout("no answer", outcome_unknown=True)]
    harness.reconcile_grace_seconds = 0.0
    envelope, letter = await _dead_lettered(harness, CommandType.CREATE_APPOINTMENT, *failures)
    writes = len(harness.dentrix.called("create_appointment"))
    harness.dentrix.will("find_by_reference", _appointment(reference=str(envelope.command_id)))  # type: ignore[attr-defined]

    await harness.feed(_redrive(harness, letter))

    assert len(harness.dentrix.called("create_appointment")) == writes
    assert [r.command_id for r in harness.results()] == [envelope.command_id]  # type: ignore[attr-defined]


async def test_a_redriven_write_missing_from_the_pms_is_written(harness: Harness) -> None:
    envelope, letter = await _dead_lettered(harness, CommandType.CREATE_APPOINTMENT, *_DOWN)
    writes = len(harness.dentrix.called("create_appointment"))

    await harness.feed(_redrive(harness, letter))

    assert len(harness.dentrix.called("find_by_reference")) >= 1
    assert len(harness.dentrix.called("create_appointment")) == writes + 1
    assert [r.command_id for r in harness.results()] == [envelope.command_id]  # type: ignore[attr-defined]


async def test_the_same_redrive_twice_is_answered_from_the_inbox(harness: Harness) -> None:
    _envelope, letter = await _dead_lettered(harness, CommandType.CREATE_APPOINTMENT, *_DOWN)
    copy = _redrive(harness, letter, "r-7")
    await harness.feed(copy)
    writes = len(harness.dentrix.called("create_appointment"))

    await harness.feed(_redrive(harness, letter, "r-7"))

    assert len(harness.dentrix.called("create_appointment")) == writes
    assert len(harness.results()) == 2  # the stored answer, replayed


def test_a_redrive_copy_drops_the_journey_and_keeps_the_event_headers() -> None:
    headers = [("ce_id", b"c-1"), ("ce_type", b"pms.command.ListLocations.v1"), ("traceparent", b"00-ab-cd-01"),
               ("pms-attempts", b"4"), ("pms-error-code", b"UNAVAILABLE")]  # fmt: skip
    copy = redrive_copy(headers, "r-9")
    assert copy == [("ce_id", b"c-1"), ("ce_type", b"pms.command.ListLocations.v1"),
                    ("traceparent", b"00-ab-cd-01"), (REDRIVE, b"r-9")]  # fmt: skip
    letter = read_dead_letter(2, 40, b"smile", headers)
    assert (letter.command_id, letter.command_type, letter.hop) == ("c-1", "ListLocations", None)
