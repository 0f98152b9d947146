"""Static-data cache: served until invalidated or expired, one load per key at a time."""

from __future__ import annotations

import asyncio

import pytest

from adapters.http import StaticCache
from tests.unit.http.fakes import FakeClock, wait_until


class Loader:
    def __init__(self) -> None:
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> list[str]:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        return [f"loc-{self.calls}"]


async def test_served_from_cache_until_invalidated() -> None:
    cache, load = StaticCache(), Loader()
    assert await cache.get_or_load("locations", load) == ["loc-1"]
    assert await cache.get_or_load("locations", load) == ["loc-1"]
    assert load.calls == 1
    cache.invalidate("locations")
    assert await cache.get_or_load("locations", load) == ["loc-2"]
    cache.invalidate()
    assert await cache.get_or_load("locations", load) == ["loc-3"]


async def test_expires_after_ttl() -> None:
    clock = FakeClock()
    cache, load = StaticCache(ttl_seconds=300, clock=clock), Loader()
    await cache.get_or_load("ops", load)
    clock.now = 299.0
    assert await cache.get_or_load("ops", load) == ["loc-1"]
    clock.now = 300.0
    assert await cache.get_or_load("ops", load) == ["loc-2"]


async def test_concurrent_misses_share_one_load() -> None:
    cache, load = StaticCache(), Loader()
    load.gate = asyncio.Event()
    tasks = [asyncio.create_task(cache.get_or_load("locations", load)) for _ in range(5)]
    await wait_until(lambda: load.calls == 1)
    load.gate.set()
    assert await asyncio.gather(*tasks) == [["loc-1"]] * 5
    assert load.calls == 1


async def test_keys_are_independent_and_failures_not_cached() -> None:
    cache, load = StaticCache(), Loader()

    async def broken() -> list[str]:
        raise RuntimeError("pms down")

    with pytest.raises(RuntimeError):
        await cache.get_or_load("locations", broken)
    assert await cache.get_or_load("locations", load) == ["loc-1"]
    assert await cache.get_or_load("operatories:7", load) == ["loc-2"]
