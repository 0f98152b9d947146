"""The inline hand-over: a delivery runs at once up to its first wait; what waits behaves as a task would.

Every worker's fetch loop delivers through ``step`` (the integration, chaos and guarantee tests run it on the
real broker); these cases pin down the coroutine mechanics it relies on.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from typing import Any

import pytest
from faust.transport import consumer as faust_consumer
from mode import Service

from streams.delivery import step


class _Boom(Exception):
    pass


async def test_a_delivery_that_waits_for_nothing_completes_inline() -> None:
    delivered: list[str] = []

    async def deliver() -> None:
        lock = asyncio.Lock()
        async with lock:  # an uncontended lock, as faust's conductor takes one per message
            delivered.append("event")

    assert step(deliver()) is None
    assert delivered == ["event"]


async def test_an_error_before_any_wait_is_raised_at_once() -> None:
    async def deliver() -> None:
        raise _Boom

    with pytest.raises(_Boom):
        step(deliver())


@pytest.mark.parametrize("waits_on", ["future", "sleep 0", "queue put"])
async def test_a_delivery_that_waits_resumes_where_it_stopped(waits_on: str) -> None:
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[str] = loop.create_future()
    queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
    queue.put_nowait("earlier")
    trail: list[str] = []

    async def deliver() -> str:
        trail.append("started")
        if waits_on == "future":
            trail.append(await gate)
        elif waits_on == "sleep 0":
            await asyncio.sleep(0)
            trail.append("slept")
        else:
            await queue.put("event")  # full: waits for a free slot
            trail.append("put")
        return "delivered"

    rest = step(deliver())
    assert rest is not None
    assert trail == ["started"]

    async def finish() -> Any:
        return await rest

    task = asyncio.ensure_future(finish())
    await asyncio.sleep(0)
    if waits_on == "future":
        gate.set_result("opened")
    elif waits_on == "queue put":
        assert queue.get_nowait() == "earlier"
    assert await task == "delivered"
    assert trail == ["started", {"future": "opened", "sleep 0": "slept", "queue put": "put"}[waits_on]]


async def test_an_error_after_the_wait_reaches_the_awaiting_task() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def deliver() -> None:
        await gate
        raise _Boom

    rest = step(deliver())
    assert rest is not None

    async def finish() -> None:
        await rest

    task = asyncio.ensure_future(finish())
    gate.set_result(None)
    with pytest.raises(_Boom):
        await task


async def test_a_waiting_delivery_is_abandoned_when_the_flow_is_suspended() -> None:
    """As in faust's loop: ``wait_first`` returns on the suspend flag and cancels the delivery's rest."""
    service = Service()
    suspend_flow = asyncio.Event()
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    trail: list[str] = []

    async def deliver() -> None:
        try:
            await never  # e.g. flow control suspended for a rebalance
            trail.append("delivered")
        except asyncio.CancelledError:
            trail.append("cancelled")
            raise

    rest = step(deliver())
    assert rest is not None

    async def finish() -> None:
        await rest

    asyncio.get_running_loop().call_later(0.01, suspend_flow.set)
    results = await service.wait_first(finish(), suspend_flow.wait())
    await asyncio.sleep(0)  # the cancelled rest runs its handler
    assert not results.stopped
    assert len(results.done) == 1
    assert trail == ["cancelled"]


def test_the_copied_fetch_loop_is_still_faust_s() -> None:
    """``PromptDelivery._drain_messages`` is faust 0.15.3's loop with one line changed: a new faust must be
    read and copied again, not silently run beside a stale copy."""
    source = inspect.getsource(faust_consumer.Consumer._drain_messages)
    assert hashlib.sha256(source.encode()).hexdigest() == _FAUST_DRAIN_SHA256, (
        "faust's Consumer._drain_messages changed: copy it into streams/delivery.py again"
    )


_FAUST_DRAIN_SHA256 = "44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417"
