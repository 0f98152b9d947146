"""Commands about one subject are applied in order, even when the first of them waits in a retry tier."""

from __future__ import annotations

from adapters.errors import Conflict, ErrorCode, Unavailable
from schemas.envelopes import CommandType
from tests.unit.streams.fakes import NAMES, Harness, command, update_appointment


def _applied(harness: Harness) -> list[str]:
    """Command ids of update_appointment calls, in call order."""
    return [args[2] for args in harness.dentrix.called("update_appointment")]


async def test_a_later_update_follows_the_earlier_one_into_its_tier_and_runs_after_it(
    harness: Harness,
) -> None:
    first, second = update_appointment("A-1", "first"), update_appointment("A-1", "second")
    harness.dentrix.will("update_appointment", Unavailable("503"))
    await harness.send(first)
    [follow] = await harness.send(second)

    assert _applied(harness) == [str(first.command_id)]  # the second was not attempted
    assert follow.topic == NAMES.retries[0]
    assert follow.hop is not None
    assert follow.hop.attempts == 0

    await harness.drain()
    ids = [str(first.command_id), str(second.command_id)]
    assert _applied(harness) == [ids[0], *ids]
    assert [str(r.command_id) for r in harness.results()] == ids
    assert harness.subjects == {}


async def test_a_follower_keeps_following_while_the_earlier_command_moves_down_the_tiers(
    harness: Harness,
) -> None:
    first, second = update_appointment("A-1", "first"), update_appointment("A-1", "second")
    harness.dentrix.will("update_appointment", Unavailable("503"), Unavailable("503"), Unavailable("503"))
    await harness.send(first)
    await harness.send(second)
    await harness.drain()

    ids = [str(first.command_id), str(second.command_id)]
    assert _applied(harness) == [ids[0]] * 4 + [ids[1]]
    assert [str(r.command_id) for r in harness.results()] == ids
    assert [s.topic for s in harness.retries() if s.hop and s.hop.error_code == "CONFLICT"] == list(
        NAMES.retries[:3]
    )  # the follower's copies: tier 0, then the tiers the first moved to


async def test_a_follower_runs_after_the_earlier_command_fails_for_good(harness: Harness) -> None:
    first, second = update_appointment("A-1", "first"), update_appointment("A-1", "second")
    harness.dentrix.will("update_appointment", Unavailable("503"), Conflict("slot taken"))
    await harness.send(first)
    await harness.send(second)
    await harness.drain()

    assert [(e.command_id, e.code) for e in harness.errors()] == [(first.command_id, ErrorCode.CONFLICT)]
    assert [r.command_id for r in harness.results()] == [second.command_id]


async def test_other_subjects_and_reads_do_not_wait(harness: Harness) -> None:
    harness.dentrix.will("update_appointment", Unavailable("503"))
    await harness.send(update_appointment("A-1"))
    await harness.send(update_appointment("A-2"))
    await harness.send(command(CommandType.LIST_APPOINTMENTS))

    assert [args[0] for args in harness.dentrix.called("update_appointment")] == ["A-1", "A-2"]
    assert len(harness.results()) == 2
