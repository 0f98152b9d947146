"""The in-process scheduler: order per subject, concurrency across subjects, bounded slots and admission.

Jobs block on events the test sets; progress is awaited with a bounded poll, never a sleep with a duration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from streams.scheduler import Scheduler, overflows


async def until(condition: Callable[[], bool], *, turns: int = 200) -> None:
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def settle(turns: int = 20) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


class Jobs:
    """Jobs that record when they start and finish and wait for the test's go."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    def job(
        self, name: str, *, blocked: bool = False, fail: bool = False
    ) -> Callable[[], asyncio.Future[None]]:
        gate = self.gates[name] = asyncio.Event()
        if not blocked:
            gate.set()

        async def run() -> None:
            self.started.append(name)
            await gate.wait()
            if fail:
                raise RuntimeError(f"job {name} failed")
            self.finished.append(name)

        return run  # type: ignore[return-value]

    def release(self, name: str) -> None:
        self.gates[name].set()

    @property
    def running(self) -> list[str]:
        return [name for name in self.started if name not in self.finished]


def scheduler(max_in_flight: int = 100, slots: int = 10) -> Scheduler:
    return Scheduler(max_in_flight=max_in_flight, practice_slots=lambda _practice: slots)


async def test_jobs_of_one_subject_run_in_submission_order_one_at_a_time() -> None:
    jobs, s = Jobs(), scheduler()
    for name in ("a", "b", "c"):
        await s.submit("p1", "appointment:A-1", jobs.job(name, blocked=True))
    await until(lambda: jobs.started == ["a"])
    await settle()
    assert jobs.started == ["a"]

    jobs.release("b")
    jobs.release("c")  # released early: must still wait for a
    await settle()
    assert jobs.started == ["a"]
    jobs.release("a")
    await s.drain()
    assert jobs.started == jobs.finished == ["a", "b", "c"]


async def test_different_subjects_and_subjectless_jobs_run_concurrently() -> None:
    jobs, s = Jobs(), scheduler()
    await s.submit("p1", "appointment:A-1", jobs.job("a", blocked=True))
    await s.submit("p1", "appointment:A-2", jobs.job("b"))
    await s.submit("p1", None, jobs.job("read"))
    await until(lambda: set(jobs.finished) == {"b", "read"})
    assert jobs.running == ["a"]
    jobs.release("a")
    await s.drain()


async def test_same_subject_in_another_practice_is_not_ordered() -> None:
    jobs, s = Jobs(), scheduler()
    await s.submit("p1", "patient:P-1", jobs.job("a", blocked=True))
    await s.submit("p2", "patient:P-1", jobs.job("b"))
    await until(lambda: jobs.finished == ["b"])
    jobs.release("a")
    await s.drain()


async def test_practice_slots_bound_its_concurrency_but_not_other_practices() -> None:
    jobs, s = Jobs(), scheduler(slots=2)
    for name in ("a", "b", "c"):
        await s.submit("slow", None, jobs.job(name, blocked=True))
    await s.submit("fast", None, jobs.job("other"))
    await until(lambda: jobs.finished == ["other"])
    await settle()
    assert jobs.running == ["a", "b"]

    jobs.release("a")
    await until(lambda: "c" in jobs.started)
    assert sorted(jobs.running) == ["b", "c"]
    jobs.release("b")
    jobs.release("c")
    await s.drain()


async def test_admission_bound_blocks_submit_until_a_job_finishes() -> None:
    jobs, s = Jobs(), scheduler(max_in_flight=2)
    await s.submit("p1", None, jobs.job("a", blocked=True))
    await s.submit("p2", None, jobs.job("b", blocked=True))
    third = asyncio.ensure_future(s.submit("p3", None, jobs.job("c")))
    await settle()
    assert not third.done()
    assert s.in_flight == 2

    jobs.release("a")
    await asyncio.wait_for(third, timeout=5)
    jobs.release("b")
    await s.drain()
    assert sorted(jobs.finished) == ["a", "b", "c"]
    assert s.in_flight == 0


async def test_a_failing_job_does_not_break_the_chain_or_leak_its_admission(
    caplog: pytest.LogCaptureFixture,
) -> None:
    jobs, s = Jobs(), scheduler(max_in_flight=1)
    await s.submit("p1", "patient:P-1", jobs.job("a", fail=True))
    await s.submit("p1", "patient:P-1", jobs.job("b"))
    await s.drain()
    assert jobs.finished == ["b"]
    assert "scheduled job failed practice_id=p1" in caplog.text
    await asyncio.wait_for(s.submit("p1", "patient:P-1", jobs.job("c")), timeout=5)
    await s.drain()
    assert jobs.finished == ["b", "c"]


async def test_drain_waits_for_every_admitted_job() -> None:
    jobs, s = Jobs(), scheduler()
    await s.submit("p1", "x", jobs.job("a", blocked=True))
    await s.submit("p1", "x", jobs.job("b"))
    drained = asyncio.ensure_future(s.drain())
    await settle()
    assert not drained.done()
    jobs.release("a")
    await asyncio.wait_for(drained, timeout=5)
    assert jobs.finished == ["a", "b"]


async def test_cancel_before_start_releases_admission_and_the_subject_chain() -> None:
    jobs, s = Jobs(), scheduler(max_in_flight=1)
    await s.submit("p1", "patient:P-1", jobs.job("a"))
    await s.cancel()  # before the task had a turn
    admitted = asyncio.ensure_future(s.submit("p1", "patient:P-1", jobs.job("b")))
    try:
        await until(lambda: admitted.done() and jobs.finished == ["b"])
    finally:
        admitted.cancel()
        await s.cancel()


async def test_a_full_practice_backlog_runs_the_overflow_instead_and_other_practices_go_past() -> None:
    jobs = Jobs()
    s = Scheduler(max_in_flight=10, practice_slots=lambda _p: 1, practice_backlog=lambda _p: 2)
    overflowed: list[str] = []

    def overflow(name: str) -> Callable[[], asyncio.Future[None]]:
        async def run() -> None:
            overflowed.append(name)

        return run  # type: ignore[return-value]

    for name in ("a", "b", "c", "d"):
        await s.submit("slow", None, jobs.job(name, blocked=True), overflow=overflow(name))
    await s.submit("fast", None, jobs.job("other"), overflow=overflow("other"))
    await until(lambda: jobs.finished == ["other"] and overflowed == ["c", "d"])
    assert s.backlog("slow") == 2  # the two running or waiting; the overflow took no slot
    jobs.release("a")
    jobs.release("b")
    await s.drain()
    assert s.backlog("slow") == 0
    await s.submit("slow", None, jobs.job("e"), overflow=overflow("e"))  # room again
    await s.drain()
    assert jobs.finished[-1] == "e"
    assert overflowed == ["c", "d"]


async def test_an_overflow_keeps_its_subject_order() -> None:
    jobs = Jobs()
    s = Scheduler(max_in_flight=10, practice_slots=lambda _p: 1, practice_backlog=lambda _p: 1)
    order: list[str] = []

    async def overflow() -> None:
        order.append("overflow")

    await s.submit("p1", "patient:P-1", jobs.job("a", blocked=True), overflow=overflow)
    await s.submit("p1", "patient:P-1", jobs.job("b"), overflow=overflow)
    await settle()
    assert order == []  # waits for a, as b would have
    jobs.release("a")
    await s.drain()
    assert order == ["overflow"]
    assert jobs.finished == ["a"]


async def test_revoke_cancels_what_has_not_started_and_waits_for_what_runs() -> None:
    jobs = Jobs()
    s = Scheduler(max_in_flight=10, practice_slots=lambda _p: 1)
    await s.submit("p1", "patient:P-1", jobs.job("running", blocked=True), partition=0)
    await s.submit("p1", "patient:P-1", jobs.job("follower"), partition=0)
    await s.submit("p1", None, jobs.job("queued"), partition=0)
    await s.submit("p2", None, jobs.job("kept", blocked=True), partition=1)
    await until(lambda: "running" in jobs.started and "kept" in jobs.started)

    revoking = asyncio.ensure_future(s.revoke({0}, wait=30))
    await settle()
    assert not revoking.done()  # the running job is waited for
    jobs.release("running")
    assert await asyncio.wait_for(revoking, timeout=5) == 0
    assert jobs.finished == ["running"]  # the follower and the queued job never ran
    await settle()
    assert "follower" not in jobs.started
    assert "queued" not in jobs.started
    assert s.in_flight == 1  # only partition 1's job
    jobs.release("kept")
    await s.drain()


async def test_revoke_cancels_a_running_job_that_outlasts_the_bound() -> None:
    jobs = Jobs()
    s = Scheduler(max_in_flight=10, practice_slots=lambda _p: 1)
    await s.submit("p1", None, jobs.job("hung", blocked=True), partition=0)
    await until(lambda: "hung" in jobs.started)
    assert await s.revoke({0}, wait=0.01) == 1
    assert s.in_flight == 0
    assert jobs.finished == []


async def test_slots_in_use_count_running_jobs_of_the_practice_only() -> None:
    jobs, s = Jobs(), scheduler(slots=2)
    for name in ("a", "b", "c"):
        await s.submit("p1", None, jobs.job(name, blocked=True))
    await s.submit("p2", None, jobs.job("other", blocked=True))
    await until(lambda: len(jobs.running) == 3)
    assert (s.slots_in_use("p1"), s.slots_in_use("p2"), s.slots_in_use("p3")) == (2, 1, 0)
    assert s.in_flight == 4
    assert s.max_in_flight == 100
    for name in ("a", "b", "c", "other"):
        jobs.release(name)
    await s.drain()
    assert (s.slots_in_use("p1"), s.slots_in_use("p2")) == (0, 0)


# -- deferring over the backlog bound ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backlog", "slots", "mean_seconds", "defer_after", "overflows_"),
    [
        pytest.param(9, 1, 5.0, 10.0, False, id="under the bound: never"),
        pytest.param(10, 1, None, 10.0, True, id="at the bound, nothing finished yet: the bound decides"),
        pytest.param(10, 1, 0.001, None, True, id="at the bound, no tier delay given: the bound decides"),
        pytest.param(10, 4, 0.01, 10.0, False, id="fast: 10 ahead at 10 ms, 4 at a time, starts here first"),
        pytest.param(10, 1, 1.0, 10.0, True, id="slow: 10 ahead at 1 s each waits the tier's 10 s"),
        pytest.param(19, 1, 0.5, 10.0, False, id="19 ahead at 0.5 s: 9.5 s, still sooner here"),
        pytest.param(20, 1, 0.001, 10.0, True, id="twice the bound: always, however fast"),
    ],
)
def test_overflows(
    backlog: int, slots: int, mean_seconds: float | None, defer_after: float | None, overflows_: bool
) -> None:
    assert overflows(backlog, 10, slots, mean_seconds, defer_after) is overflows_


async def test_a_practice_that_has_been_fast_admits_a_batch_over_its_bound() -> None:
    now = [0.0]
    jobs = Jobs()
    s = Scheduler(
        max_in_flight=100,
        practice_slots=lambda _p: 1,
        practice_backlog=lambda _p: 2,
        defer_after=10.0,
        clock=lambda: now[0],
    )
    overflowed: list[str] = []

    def overflow(name: str) -> Callable[[], asyncio.Future[None]]:
        async def run() -> None:
            overflowed.append(name)

        return run  # type: ignore[return-value]

    await s.submit("p1", None, jobs.job("warm", blocked=True), overflow=overflow("warm"))
    await until(lambda: jobs.running == ["warm"])
    now[0] += 0.01  # it held its slot 10 ms
    jobs.release("warm")
    await s.drain()
    # A batch read at once, before any of it could run: 4 is twice the bound, where even a fast practice
    # defers.
    for name in ("a", "b", "c", "d", "e"):
        await s.submit("p1", None, jobs.job(name), overflow=overflow(name))
    await s.drain()
    assert jobs.finished == ["warm", "a", "b", "c", "d"]
    assert overflowed == ["e"]
