"""Hand-written fakes for the HTTP layer tests: a clock whose sleep advances it, a scripted transport."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from adapters.http import Token

Step = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeClock:
    """Monotonic time that only moves when someone sleeps on it."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def deadline(self, seconds: float) -> Callable[[], float]:
        """A ``remaining`` function for a deadline ``seconds`` from now on this clock."""
        at = self.now + seconds
        return lambda: at - self.now


class Script:
    """A MockTransport handler answering with one step per request (the last step repeats)."""

    def __init__(self, *steps: Step | int) -> None:
        self._steps = [s if callable(s) else _status(s) for s in steps]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self._steps[min(len(self.requests), len(self._steps)) - 1]
        return step(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def _status(code: int) -> Step:
    return lambda request: httpx.Response(code, json={"ok": code < 400})


def raises(exc_type: type[httpx.RequestError]) -> Step:
    def step(request: httpx.Request) -> httpx.Response:
        raise exc_type("boom", request=request)

    return step


class CountingTokenSource:
    """Issues tokens tok-1, tok-2, ... valid ``ttl`` seconds; ``gate`` lets a test hold fetches open."""

    def __init__(self, clock: Callable[[], float], ttl: float = 3600.0) -> None:
        self.clock = clock
        self.ttl = ttl
        self.fetches = 0
        self.gate: asyncio.Event | None = None

    async def fetch(self, client: httpx.AsyncClient) -> Token:
        self.fetches += 1
        n = self.fetches
        if self.gate is not None:
            await self.gate.wait()
        return Token(f"tok-{n}", self.clock() + self.ttl)


async def wait_until(predicate: Callable[[], bool], *, rounds: int = 1000) -> None:
    """Bounded poll on the event loop: yields until ``predicate`` holds."""
    for _ in range(rounds):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")
