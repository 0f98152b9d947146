"""Recent activity per practice (windows, latencies, failures) from what the pipeline reports."""

from __future__ import annotations

import pytest

from adapters.errors import NotFound, Unavailable, ValidationFailed
from schemas.envelopes import CommandType
from streams.activity import Activity, percentile
from streams.observer import Observers
from streams.tracing import TracingObserver
from tests.unit.streams.fakes import DENTRIX, EAGLESOFT, NAMES, FakeClock, Harness, command


def _harness(clock: FakeClock) -> tuple[Harness, Activity]:
    activity = Activity(NAMES.commands, clock=clock)
    return Harness(clock, observer=Observers([TracingObserver("pms-relay"), activity])), activity


async def test_answers_and_errors_fall_into_minute_windows(clock: FakeClock) -> None:
    harness, activity = _harness(clock)
    await harness.send(command(CommandType.SEARCH_PATIENTS))
    harness.dentrix.will("search_patients", NotFound("gone"))
    await harness.send(command(CommandType.SEARCH_PATIENTS))
    clock.advance(10 * 60)
    await harness.send(command(CommandType.SEARCH_PATIENTS))

    seen = activity.practice(DENTRIX)
    assert (seen.window_5m.finished, seen.window_5m.errors) == (1, 0)
    assert (seen.window_60m.finished, seen.window_60m.errors) == (3, 1)
    clock.advance(61 * 60)
    quiet = activity.practice(DENTRIX)
    assert (quiet.window_60m.finished, quiet.window_5m.finished) == (0, 0)
    assert activity.practice(EAGLESOFT).window_60m.finished == 0


async def test_a_retry_is_a_failure_but_not_an_answer(clock: FakeClock) -> None:
    harness, activity = _harness(clock)
    harness.dentrix.will("search_patients", Unavailable("503"))
    await harness.send(command(CommandType.SEARCH_PATIENTS))
    seen = activity.practice(DENTRIX)
    assert seen.window_5m.finished == 0
    assert [f.code.value for f in seen.failures] == ["UNAVAILABLE"]
    assert (activity.commands_in, activity.answers_out) == (1, 0)
    await harness.drain()
    assert (activity.commands_in, activity.answers_out) == (1, 1)  # the copy is not a new command


async def test_failures_are_kept_newest_first_and_bounded(clock: FakeClock) -> None:
    harness, activity = _harness(clock)
    sent = []
    for _ in range(12):
        harness.dentrix.will("search_patients", ValidationFailed("bad"))
        cmd = command(CommandType.SEARCH_PATIENTS)
        sent.append(str(cmd.command_id))
        await harness.send(cmd)
        clock.advance(1)
    failures = activity.practice(DENTRIX).failures
    assert [f.command_id for f in failures] == sent[::-1][:10]
    assert failures[0].at > failures[-1].at


async def test_last_success_and_latency_come_from_pms_calls(clock: FakeClock) -> None:
    harness, activity = _harness(clock)
    assert activity.practice(DENTRIX).last_success_at is None
    assert activity.practice(DENTRIX).latency_p50 is None
    await harness.send(command(CommandType.SEARCH_PATIENTS))
    seen = activity.practice(DENTRIX)
    assert seen.last_success_at == clock()
    assert seen.latency_p50 is not None
    assert seen.latency_p95 is not None
    clock.advance(301)  # latencies are over the last 5 minutes; the last success stays
    later = activity.practice(DENTRIX)
    assert later.latency_p50 is None
    assert later.last_success_at is not None
    assert dict(activity.last_successes()) == {DENTRIX: seen.last_success_at}


async def test_practices_outside_the_registry_are_never_recorded(clock: FakeClock) -> None:
    harness, activity = _harness(clock)
    await harness.send(command(CommandType.LIST_LOCATIONS, practice_id="made-up"))
    await harness.feed(harness.raw(b"garbage"))
    assert activity._practices == {}
    assert activity.answers_out == 2
    assert activity.dead_letters_written == 1  # the garbage's copy


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([], 50, None), ([1.0], 95, 1.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.0), ([float(i) for i in range(1, 101)], 95, 95.0)],
)  # fmt: skip
def test_percentile_is_nearest_rank(values: list[float], q: float, expected: float | None) -> None:
    assert percentile(values, q) == expected
