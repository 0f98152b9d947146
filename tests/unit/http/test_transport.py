"""Which transport a PMS client sends through (the transport's behaviour on the wire is tested against real
loopback servers in tests/integration/test_http_transport.py)."""

from __future__ import annotations

from pathlib import Path

import certifi
import httpx
import pytest

from adapters.http.client import pool_limits
from adapters.http.transport import AiohttpTransport, default_transport, http1_context

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def default_trust(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return monkeypatch


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


def test_every_transport_verifies_with_one_shared_context(default_trust: pytest.MonkeyPatch) -> None:
    # One context per client cost ~0.8 MiB each (the certifi bundle, loaded again): most of a practice.
    first, second = AiohttpTransport(limits=pool_limits(4)), AiohttpTransport(limits=pool_limits(8))
    assert first._ssl is second._ssl is http1_context()
    assert http1_context().cert_store_stats()["x509_ca"] > 1  # certifi's bundle


def test_another_trust_store_named_in_the_environment_is_honoured(
    default_trust: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    usual = http1_context()
    bundle = Path(certifi.where()).read_text()
    one_ca = tmp_path / "ca.pem"
    one_ca.write_text(bundle[: bundle.index("-----END CERTIFICATE-----")] + "-----END CERTIFICATE-----\n")
    default_trust.setenv("SSL_CERT_FILE", str(one_ca))
    assert http1_context().cert_store_stats()["x509_ca"] == 1
    assert http1_context() is http1_context()
    default_trust.delenv("SSL_CERT_FILE")
    assert http1_context() is usual
