"""In-process scheduling: unrelated commands run concurrently, commands about one subject run in order.

``submit`` is called in the order messages were read. It returns once the job is admitted (a worker-wide
bound on admitted jobs is the back-pressure on the consumer loop) and runs the job in a task that first waits
for every earlier job of the same ordering key, then for a slot of its practice. A slow practice therefore
holds at most its own slots while other practices' jobs go past it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["Scheduler"]

_log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Scheduler:
    def __init__(self, *, max_in_flight: int, practice_slots: Callable[[str], int]) -> None:
        self._admitted = asyncio.Semaphore(max_in_flight)
        self._practice_slots = practice_slots
        self._practices: dict[str, asyncio.Semaphore] = {}
        self._tails: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def submit(self, practice_id: str, subject: str | None, job: Job) -> None:
        """Admit ``job``; it runs after earlier jobs of ``(practice_id, subject)`` have finished."""
        await self._admitted.acquire()
        previous: asyncio.Future[None] | None = None
        done: asyncio.Future[None] | None = None
        if subject is not None:
            key = (practice_id, subject)
            previous = self._tails.get(key)
            done = asyncio.get_running_loop().create_future()
            self._tails[key] = done
        task = asyncio.create_task(self._run(practice_id, previous, job))
        self._tasks.add(task)
        # Bookkeeping in a done-callback, not a finally: a task cancelled before its first step never runs
        # its body, and its slot and its place in the subject's chain must still be given back.
        task.add_done_callback(lambda finished: self._finished(finished, practice_id, subject, done))

    async def _run(self, practice_id: str, previous: asyncio.Future[None] | None, job: Job) -> None:
        if previous is not None:
            await asyncio.shield(previous)
        async with self._slots(practice_id):
            await job()

    def _finished(
        self,
        task: asyncio.Task[None],
        practice_id: str,
        subject: str | None,
        done: asyncio.Future[None] | None,
    ) -> None:
        self._tasks.discard(task)
        self._admitted.release()
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

    async def drain(self) -> None:
        """Wait for every admitted job (bound it with ``asyncio.timeout``)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks))

    async def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
