"""Which transport a PMS client sends through (the transport's behaviour on the wire is tested against real
loopback servers in tests/integration/test_http_transport.py)."""

from __future__ import annotations

import httpx
import pytest

from adapters.http.client import pool_limits
from adapters.http.transport import AiohttpTransport, default_transport

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_aiohttp_transport_is_the_default(no_proxy_env: pytest.MonkeyPatch) -> None:
    assert isinstance(default_transport(pool_limits(4)), AiohttpTransport)


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "http_proxy"])
def test_a_proxy_in_the_environment_keeps_httpx_transport_which_honours_it(
    no_proxy_env: pytest.MonkeyPatch, name: str
) -> None:
    no_proxy_env.setenv(name, "http://proxy.invalid:3128")
    assert default_transport(pool_limits(4)) is None


def test_the_pool_follows_the_concurrency() -> None:
    limits = pool_limits(16)
    assert (limits.max_connections, limits.max_keepalive_connections) == (16, 16)
    assert isinstance(limits, httpx.Limits)
