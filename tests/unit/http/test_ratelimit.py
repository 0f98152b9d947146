"""Per-practice limiter: concurrency and rate bounded, waits bounded by the deadline."""

from __future__ import annotations

import asyncio

import pytest

from adapters.errors import PMSTimeout
from adapters.http import PracticeRateLimiter, RateLimits
from tests.unit.http.fakes import wait_until


async def test_concurrency_is_bounded() -> None:
    limiter = PracticeRateLimiter(1000.0, 2)
    release = asyncio.Event()
    inside = 0
    peak = 0

    async def work() -> None:
        nonlocal inside, peak
        async with limiter:
            inside += 1
            peak = max(peak, inside)
            await release.wait()
            inside -= 1

    tasks = [asyncio.create_task(work()) for _ in range(6)]
    await wait_until(lambda: inside == 2)
    for _ in range(20):
        await asyncio.sleep(0)
    assert inside == 2  # the other four are still waiting for a slot
    release.set()
    await asyncio.gather(*tasks)
    assert peak == 2


async def test_rate_spaces_requests_then_waits_up_to_the_deadline() -> None:
    # 2/s means one request per 500 ms: with 50 ms of budget only the first goes through, no burst.
    limiter = PracticeRateLimiter(2.0, 10, remaining=lambda: 0.05)
    admitted = 0

    async def work() -> None:
        nonlocal admitted
        async with limiter:
            admitted += 1

    results = await asyncio.gather(*(work() for _ in range(5)), return_exceptions=True)
    timeouts = [r for r in results if isinstance(r, PMSTimeout)]
    assert admitted == 1
    assert len(timeouts) == 4
    assert all("rate limit" in str(t) for t in timeouts)


async def test_slot_is_released_when_the_rate_wait_times_out() -> None:
    limiter = PracticeRateLimiter(1.0, 1, remaining=lambda: 0.02)
    async with limiter:
        pass
    with pytest.raises(PMSTimeout):
        async with limiter:
            pass
    assert not limiter._slots.locked()


async def test_past_deadline_fails_without_waiting() -> None:
    limiter = PracticeRateLimiter(1.0, 1, remaining=lambda: 0.0)
    with pytest.raises(PMSTimeout, match="deadline exceeded"):
        async with limiter:
            pass


async def test_slow_rates_below_one_per_second_are_allowed() -> None:
    limiter = PracticeRateLimiter.from_limits(RateLimits(0.5, 1), remaining=lambda: None)
    async with limiter:
        pass


@pytest.mark.parametrize(("rate", "concurrent"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_limits_are_validated(rate: float, concurrent: int) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        RateLimits(rate, concurrent)
