"""The HTTP client tells the context's retry listener of each in-call retry (metrics count them)."""

from __future__ import annotations

import httpx
import pytest

from adapters.errors import PMSError, Unavailable
from adapters.http import PMSHttpClient
from adapters.http.client import retry_listener
from tests.unit.http.fakes import FakeClock, Script


@pytest.mark.parametrize(
    ("statuses", "heard"), [((200,), []), ((503, 502, 200), [503, 502]), ((503,), [503, 503])]
)
async def test_each_retry_is_heard_once_with_its_error(statuses: tuple[int, ...], heard: list[int]) -> None:
    clock = FakeClock()
    errors: list[PMSError] = []
    client = PMSHttpClient(
        base_url="https://pms.test/api",
        vendor="testpms",
        transport=httpx.MockTransport(Script(*statuses)),
        sleep=clock.sleep,
        jitter=lambda d: d,
        remaining=lambda: None,
    )
    token = retry_listener.set(errors.append)
    try:
        await client.request("GET", "/patients")
    except Unavailable:
        assert statuses == (503,)  # three tries, two retries, then the error
    finally:
        retry_listener.reset(token)
        await client.aclose()
    assert [e.http_status for e in errors] == heard
    assert all(isinstance(e, Unavailable) for e in errors)
