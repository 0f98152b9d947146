"""Token cache: refresh ahead, refresh once on 401, single flight."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.errors import ConnectionLost, Unauthorized
from adapters.http import Token, TokenCache
from tests.unit.http.fakes import CountingTokenSource, FakeClock, wait_until


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500))) as c:
        yield c


async def test_token_is_reused_until_refresh_ahead_window(client: httpx.AsyncClient) -> None:
    clock = FakeClock()
    source = CountingTokenSource(clock, ttl=1000.0)
    cache = TokenCache(source, refresh_ahead=300.0, clock=clock)

    assert await cache.get(client) == "tok-1"
    clock.now = 699.0
    assert await cache.get(client) == "tok-1"
    clock.now = 700.0  # 300 s before expiry: refreshed ahead, not after a failure
    assert await cache.get(client) == "tok-2"
    assert source.fetches == 2


async def test_concurrent_gets_fetch_once(client: httpx.AsyncClient) -> None:
    clock = FakeClock()
    source = CountingTokenSource(clock)
    source.gate = asyncio.Event()
    cache = TokenCache(source, clock=clock)

    tasks = [asyncio.create_task(cache.get(client)) for _ in range(5)]
    await wait_until(lambda: source.fetches == 1)
    source.gate.set()
    assert await asyncio.gather(*tasks) == ["tok-1"] * 5
    assert source.fetches == 1


async def test_refresh_replaces_stale_once_and_reuses_a_newer_token(client: httpx.AsyncClient) -> None:
    clock = FakeClock()
    source = CountingTokenSource(clock)
    cache = TokenCache(source, clock=clock)
    stale = await cache.get(client)

    first, second = await asyncio.gather(
        cache.refresh(client, stale=stale), cache.refresh(client, stale=stale)
    )
    assert first == second == "tok-2"  # the second 401 found tok-1 already replaced
    assert source.fetches == 2
    assert await cache.refresh(client, stale="tok-2") == "tok-3"


async def test_refresh_ahead_failure_keeps_serving_a_still_valid_token(client: httpx.AsyncClient) -> None:
    clock = FakeClock()
    source = CountingTokenSource(clock, ttl=1000.0)
    cache = TokenCache(source, refresh_ahead=300.0, clock=clock)
    await cache.get(client)

    async def failing(c: httpx.AsyncClient) -> Token:
        raise Unauthorized("token endpoint -> HTTP 401")

    source.fetch = failing  # type: ignore[method-assign,assignment]
    clock.now = 800.0
    assert await cache.get(client) == "tok-1"
    clock.now = 1000.0  # expired now: the failure surfaces
    with pytest.raises(Unauthorized):
        await cache.get(client)


async def test_refused_token_is_never_served_again(client: httpx.AsyncClient) -> None:
    clock = FakeClock()
    source = CountingTokenSource(clock)
    cache = TokenCache(source, clock=clock)
    stale = await cache.get(client)

    async def failing(c: httpx.AsyncClient) -> Token:
        raise Unauthorized("token endpoint -> HTTP 401")

    source.fetch = failing  # type: ignore[method-assign,assignment]
    with pytest.raises(Unauthorized):
        await cache.refresh(client, stale=stale)
    with pytest.raises(Unauthorized):
        await cache.get(client)


async def test_transport_failure_while_fetching_is_mapped(client: httpx.AsyncClient) -> None:
    class Source:
        async def fetch(self, c: httpx.AsyncClient) -> Token:
            await c.post("https://auth.test/token", data={"secret": "s"})
            raise AssertionError("unreachable")

    async def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as c:
        with pytest.raises(ConnectionLost, match="token fetch"):
            await TokenCache(Source()).get(c)


def test_token_repr_hides_value() -> None:
    assert "secret" not in repr(Token("secret", 1.0))
