"""``python -m deploy.bench.coalesced_worker worker ...``: the worker CLI with one experimental change, to
measure it against the real one: ``durable()`` calls share flush rounds instead of each running its own.

Why: every job calls ``Outbox.durable()`` -> Faust ``Producer.flush()``, whose ``ProducerBuffer.flush``
polls with a new ``asyncio.wait_for`` each time any buffered message is sent; with a hundred jobs waiting,
each changelog write wakes them all. Here one task flushes at a time; a caller joins the *next* round (one
that starts after its call, so it covers every message the caller sent before) and waits for it.
Nothing in the project uses this module; it exists for the benchmark's ``--experiment coalesced-flush``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import topology

__all__ = ["CoalescedFlush", "install"]


class CoalescedFlush:
    def __init__(self, flush: Any) -> None:
        self._flush = flush
        self._next: asyncio.Future[None] | None = None
        self._runner: asyncio.Task[None] | None = None

    async def __call__(self) -> None:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        joined = self._next
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._rounds())
        await asyncio.shield(joined)

    async def _rounds(self) -> None:
        while self._next is not None:
            current, self._next = self._next, None
            try:
                await self._flush()
            except Exception as exc:  # every caller of this round sees the failure
                current.set_exception(exc)
            else:
                current.set_result(None)


def install() -> None:
    original = topology._FaustOutbox.durable

    async def durable(self: Any) -> None:
        coalesced = self.__dict__.get("_bench_coalesced")
        if coalesced is None:
            coalesced = self.__dict__["_bench_coalesced"] = CoalescedFlush(lambda: original(self))
        await coalesced()

    topology._FaustOutbox.durable = durable  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    from cli import main

    main()
