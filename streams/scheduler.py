"""In-process scheduling: unrelated commands run concurrently, commands about one subject run in order.

``submit`` is called in the order messages were read. It returns once the job is admitted and runs the job in
a task that first waits for every earlier job of the same ordering key, then for a slot of its practice.
Two bounds keep one practice from holding up the others:

- a worker-wide bound on admitted jobs (memory; the back-pressure on the consumer loop);
- a per-practice **backlog** bound: once a practice has that many jobs admitted (a slow PMS, a burst), its
  next job runs as its ``overflow`` instead, which takes no practice slot: the pipeline sends the command to
  a retry tier to come back later (no attempt burnt). So a slow practice holds at most its backlog of the
  worker-wide bound, and other practices' commands go past it. Given ``defer_after`` (the shortest retry
  tier's delay), a practice over its bound still admits a job that would start sooner here than it would
  come back from that tier, judged by how long the practice's jobs have held a slot (see :func:`overflows`):
  a batch of a fast practice's commands, read before any of them could run, is not a slow practice.

On a revocation, jobs of the revoked partitions that have not started are cancelled (their messages are left
unfinished, so the next owner reads them again) and the running ones are waited for, within a bound.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

__all__ = ["Scheduler", "overflows"]

_log = logging.getLogger(__name__)

# Over its backlog bound, a practice admits at most this many times the bound, however fast it has been: a
# PMS that turns slow is learnt only from jobs that finish, so this keeps what one practice can hold.
_HARD_FACTOR = 2
# How much each finished job moves a practice's mean time in a slot.
_SMOOTHING = 0.2


def overflows(
    backlog: int, bound: int, slots: int, mean_seconds: float | None, defer_after: float | None
) -> bool:
    """Whether a practice with ``backlog`` jobs admitted sends its next one to the retry tier.

    Under the bound: never. From ``_HARD_FACTOR`` times the bound: always. Between, only when the job would
    wait here at least ``defer_after`` seconds: the backlog ahead of it, ``slots`` at a time, each job holding
    a slot ``mean_seconds``. Not known yet (no job of the practice has finished) or no ``defer_after``: the
    bound alone decides.
    """
    if backlog < bound:
        return False
    if defer_after is None or mean_seconds is None or backlog >= _HARD_FACTOR * bound:
        return True
    return backlog * mean_seconds / max(slots, 1) >= defer_after


Job = Callable[[], Awaitable[None]]


@dataclass
class _Admitted:
    practice_id: str
    partition: object  # the job's topic-partition (any hashable), for revocation
    counted: bool  # counts against the practice's backlog (an overflow job does not)
    started: bool = False


class Scheduler:
    def __init__(
        self,
        *,
        max_in_flight: int,
        practice_slots: Callable[[str], int],
        practice_backlog: Callable[[str], int] | None = None,
        defer_after: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_in_flight = max_in_flight
        self._admitted = asyncio.Semaphore(max_in_flight)
        self._practice_slots = practice_slots
        self._practice_backlog = practice_backlog
        self._defer_after = defer_after
        self._clock = clock
        self._slot_seconds: dict[str, float] = {}  # practice id -> mean time its jobs held a slot
        self._practices: dict[str, asyncio.Semaphore] = {}
        self._backlogs: dict[str, int] = {}
        self._running: dict[str, int] = {}  # practice id -> jobs holding one of its slots
        self._tails: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._tasks: dict[asyncio.Task[None], _Admitted] = {}

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def backlog(self, practice_id: str) -> int:
        """Jobs of ``practice_id`` admitted and counted against its backlog bound."""
        return self._backlogs.get(practice_id, 0)

    def slots_in_use(self, practice_id: str) -> int:
        """Jobs of ``practice_id`` running now, each holding one of its slots."""
        return self._running.get(practice_id, 0)

    async def submit(
        self,
        practice_id: str,
        subject: str | None,
        job: Job,
        *,
        partition: object = None,
        overflow: Job | None = None,
    ) -> None:
        """Admit ``job``; it runs after earlier jobs of ``(practice_id, subject)`` have finished.

        When the practice's backlog is full and ``overflow`` is given, ``overflow`` runs in ``job``'s place
        (in the subject's order, but without a practice slot).
        """
        await self._admitted.acquire()
        counted = not (overflow is not None and self._full(practice_id))
        previous: asyncio.Future[None] | None = None
        done: asyncio.Future[None] | None = None
        if subject is not None:
            key = (practice_id, subject)
            previous = self._tails.get(key)
            done = asyncio.get_running_loop().create_future()
            self._tails[key] = done
        admitted = _Admitted(practice_id, partition, counted)
        if counted:
            self._backlogs[practice_id] = self._backlogs.get(practice_id, 0) + 1
            task = asyncio.create_task(self._run(admitted, previous, job, slotted=True))
        else:
            assert overflow is not None
            task = asyncio.create_task(self._run(admitted, previous, overflow, slotted=False))
        self._tasks[task] = admitted
        # Bookkeeping in a done-callback, not a finally: a task cancelled before its first step never runs
        # its body, and its slot and its place in the subject's chain must still be given back.
        task.add_done_callback(lambda finished: self._finished(finished, subject, done))

    def _full(self, practice_id: str) -> bool:
        if self._practice_backlog is None:
            return False
        return overflows(
            self._backlogs.get(practice_id, 0),
            self._practice_backlog(practice_id),
            self._practice_slots(practice_id),
            self._slot_seconds.get(practice_id),
            self._defer_after,
        )

    async def _run(
        self, admitted: _Admitted, previous: asyncio.Future[None] | None, job: Job, *, slotted: bool
    ) -> None:
        if previous is not None:
            await asyncio.shield(previous)
        if not slotted:
            admitted.started = True
            await job()
            return
        practice_id = admitted.practice_id
        async with self._slots(practice_id):
            admitted.started = True
            self._running[practice_id] = self._running.get(practice_id, 0) + 1
            began = self._clock()
            try:
                await job()
                self._held(practice_id, self._clock() - began)
            finally:
                left = self._running[practice_id] - 1
                if left:
                    self._running[practice_id] = left
                else:
                    del self._running[practice_id]

    def _held(self, practice_id: str, seconds: float) -> None:
        mean = self._slot_seconds.get(practice_id)
        self._slot_seconds[practice_id] = seconds if mean is None else mean + _SMOOTHING * (seconds - mean)

    def _finished(
        self, task: asyncio.Task[None], subject: str | None, done: asyncio.Future[None] | None
    ) -> None:
        admitted = self._tasks.pop(task)
        practice_id = admitted.practice_id
        self._admitted.release()
        if admitted.counted:
            left = self._backlogs.get(practice_id, 1) - 1
            if left > 0:
                self._backlogs[practice_id] = left
            else:
                self._backlogs.pop(practice_id, None)
        if not task.cancelled() and task.exception() is not None:
            # The job handles its own errors; this is the last line of defence. Type only: no data in logs.
            _log.error(
                "scheduled job failed practice_id=%s exception=%s",
                practice_id,
                type(task.exception()).__name__,
            )
        if done is not None:
            done.set_result(None)
            if subject is not None and self._tails.get((practice_id, subject)) is done:
                del self._tails[(practice_id, subject)]

    def _slots(self, practice_id: str) -> asyncio.Semaphore:
        slots = self._practices.get(practice_id)
        if slots is None:
            slots = self._practices[practice_id] = asyncio.Semaphore(self._practice_slots(practice_id))
        return slots

    async def revoke(self, partitions: Collection[object], *, wait: float) -> int:
        """Give up ``partitions``: cancel their jobs that have not started, wait up to ``wait`` seconds for the
        running ones, cancel what is still running then. Returns how many running jobs were cancelled.

        Every waiting job of a partition is cancelled in one step, before any of them can start, so a later
        job of a subject never runs because an earlier one was cancelled.
        """
        chosen = {task: info for task, info in self._tasks.items() if info.partition in partitions}
        for task, info in chosen.items():
            if not info.started:
                task.cancel()
        running = {task for task, info in chosen.items() if info.started and not task.done()}
        if running:
            _, pending = await asyncio.wait(running, timeout=wait)
        else:
            pending = set()
        for task in pending:
            task.cancel()
        await asyncio.gather(*chosen, return_exceptions=True)
        return len(pending)

    async def drain(self) -> None:
        """Wait for every admitted job (bound it with ``asyncio.timeout``)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks))

    async def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
