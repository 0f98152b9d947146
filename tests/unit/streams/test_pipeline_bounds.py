"""Bounds that keep every command moving: deferral when a practice is full, released subject heads, a
maximum age, and one answer id per command."""

from __future__ import annotations

from adapters.errors import ErrorCode, Unavailable
from schemas.answers import answer_event_id
from schemas.envelopes import CommandType
from streams.inbox import Phase
from streams.ordering import HEAD_GRACE_SECONDS
from tests.unit.streams.fakes import NAMES, Harness, command, update_appointment


async def test_a_deferred_command_goes_to_the_shortest_tier_without_a_pms_call_or_a_burnt_attempt(
    harness: Harness,
) -> None:
    read = command(CommandType.LIST_LOCATIONS)
    [copy] = await harness.feed(harness.original(read), defer=True)

    assert copy.topic == NAMES.retries[0]
    assert copy.hop is not None
    assert copy.hop.attempts == 0
    assert harness.dentrix.called("list_locations") == []
    await harness.drain()
    assert [r.command_id for r in harness.results()] == [read.command_id]


async def test_a_deferred_copy_of_an_answered_command_is_answered_again_not_reopened(
    harness: Harness,
) -> None:
    write = command(CommandType.CREATE_PATIENT)
    [answer] = await harness.send(write)
    [again] = await harness.feed(harness.original(write), defer=True)

    assert again.topic == NAMES.results
    assert again.header("ce_id") == answer.header("ce_id")
    assert harness.inbox[str(write.command_id)]["phase"] == Phase.DONE.value
    assert len(harness.dentrix.called("create_patient")) == 1


async def test_a_deferred_write_after_an_earlier_one_for_its_subject_follows_it(harness: Harness) -> None:
    first, second = update_appointment("A-1", "first"), update_appointment("A-1", "second")
    await harness.feed(harness.original(first), defer=True)
    await harness.send(second)
    await harness.drain()
    assert [args[2] for args in harness.dentrix.called("update_appointment")] == [
        str(first.command_id),
        str(second.command_id),
    ]


async def test_a_follower_behind_a_head_that_never_comes_back_is_released_after_the_bound(
    harness: Harness,
) -> None:
    first, second = update_appointment("A-1", "first"), update_appointment("A-1", "second")
    harness.dentrix.will("update_appointment", Unavailable("503"))
    await harness.send(first)
    harness.pending.clear()  # the head's copy is lost: nothing will ever bring it back
    [follow] = await harness.send(second)
    assert follow.hop is not None
    assert follow.hop.error_code == "CONFLICT"

    follows = 0
    while harness.pending:
        sent = await harness.next_due()
        follows += sum(1 for s in sent if s.hop is not None and s.hop.error_code == "CONFLICT")
        assert follows < 50, "a follower must not cycle for ever"

    assert [r.command_id for r in harness.results()] == [second.command_id]
    bound = 2 * harness.tiers.delays[0] + HEAD_GRACE_SECONDS
    assert follows <= bound / harness.tiers.delays[0] + 1
    assert harness.subjects == {}


async def test_a_command_with_no_deadline_is_given_up_at_its_maximum_age(clock: object) -> None:
    harness = Harness(clock, max_age_seconds=120.0)  # type: ignore[arg-type]
    read = command(CommandType.LIST_LOCATIONS)
    await harness.feed(harness.original(read), defer=True)
    for _ in range(20):  # the practice stays full: deferred each time it comes back
        if not harness.pending:
            break
        copy = harness.pending.pop(0)
        assert copy.hop is not None
        assert copy.hop.due_at is not None
        harness.clock.set(copy.hop.due_at)
        await harness.feed(harness.as_incoming(copy), defer=True)

    assert harness.pending == []
    assert [(e.command_id, e.code) for e in harness.errors()] == [
        (read.command_id, ErrorCode.DEADLINE_EXCEEDED)
    ]
    assert harness.dentrix.called("list_locations") == []


async def test_every_answer_a_command_can_get_has_the_same_ce_id(harness: Harness) -> None:
    read = command(CommandType.LIST_LOCATIONS)
    [first] = await harness.send(read)
    [second] = await harness.send(read)  # run again, as after a crash before the commit: no inbox entry
    assert first.header("ce_id") == second.header("ce_id") == answer_event_id(str(read.command_id))

    failing = command(CommandType.LIST_OPERATORIES)
    harness.dentrix.will("list_operatories", Unavailable("503"), Unavailable("503"), Unavailable("503"))
    harness.dentrix.will("list_operatories", Unavailable("503"))
    await harness.send(failing)
    await harness.drain()
    [error] = [s for s in harness.on(NAMES.errors)]
    assert error.header("ce_id") == answer_event_id(str(failing.command_id))


async def test_garbage_gets_an_error_whose_id_names_where_it_was_read(harness: Harness) -> None:
    message = harness.raw(b"\x00not avro")
    [*_, error] = await harness.feed(message)
    [again] = [s for s in await harness.feed(message) if s.topic == NAMES.errors]
    assert error.topic == NAMES.errors
    assert error.header("ce_id") == again.header("ce_id")


async def test_a_command_deferred_again_waits_in_the_next_tier_not_round_the_shortest(
    harness: Harness,
) -> None:
    read = command(CommandType.LIST_LOCATIONS)
    [first] = await harness.feed(harness.original(read), defer=True)
    [second] = await harness.feed(harness.as_incoming(first), defer=True)
    [third] = await harness.feed(harness.as_incoming(second), defer=True)
    assert [first.topic, second.topic, third.topic] == [NAMES.retries[0]] * 3
    assert third.hop is not None
    assert third.hop.error_class == "DEFERRED"
    assert third.hop is not None
    assert third.hop.attempts == 0
