"""PMSHttpClient against a scripted MockTransport, on a fake clock: no network, no real sleeping."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from adapters.errors import (
    ConnectionLost,
    NotFound,
    PMSError,
    PMSTimeout,
    RateLimited,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from adapters.http import (
    PMSHttpClient,
    PracticeRateLimiter,
    RetryPolicy,
    TokenCache,
    default_error_mapper,
    parse_retry_after,
)
from tests.unit.http.fakes import CountingTokenSource, FakeClock, Script, raises, wait_until

BASE = "https://pms.test/api"


def identity(d: float) -> float:
    return d


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make(clock: FakeClock) -> AsyncIterator[Callable[..., PMSHttpClient]]:
    """Clients on the fake clock, with identity jitter and no deadline unless a test passes one."""
    clients: list[PMSHttpClient] = []

    def factory(handler: Any, **kwargs: Any) -> PMSHttpClient:
        kwargs.setdefault("remaining", lambda: None)
        client = PMSHttpClient(
            base_url=BASE,
            vendor="testpms",
            transport=httpx.MockTransport(handler),
            sleep=clock.sleep,
            jitter=identity,
            **kwargs,
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


# -- retries -----------------------------------------------------------------------------------------------


async def test_502_503_then_200_is_retried_and_succeeds(make: Any, clock: FakeClock) -> None:
    script = Script(502, 503, 200)
    response = await make(script).request("GET", "/patients/{id}", path_params={"id": "7"})
    assert response.status_code == 200
    assert len(script.requests) == 3
    assert clock.sleeps == [0.2, 0.4]


async def test_attempt_cap_gives_up_with_the_last_error(make: Any) -> None:
    script = Script(503)
    with pytest.raises(Unavailable) as info:
        await make(script, retry=RetryPolicy(max_attempts=3)).request("GET", "/locations")
    assert len(script.requests) == 3
    assert info.value.http_status == 503


async def test_write_read_timeout_is_outcome_unknown_and_not_resent(make: Any, clock: FakeClock) -> None:
    script = Script(raises(httpx.ReadTimeout), 201)
    with pytest.raises(PMSTimeout) as info:
        await make(script).request("POST", "/appointments", json={"op": 3}, write=True)
    assert info.value.outcome_unknown is True
    assert len(script.requests) == 1
    assert clock.sleeps == []


async def test_dropped_connection_on_write_is_not_resent(make: Any) -> None:
    script = Script(raises(httpx.RemoteProtocolError), 201)
    with pytest.raises(ConnectionLost) as info:
        await make(script).request("POST", "/appointments", write=True)
    assert info.value.outcome_unknown is True
    assert len(script.requests) == 1


async def test_dropped_connection_on_read_is_retried(make: Any) -> None:
    script = Script(raises(httpx.ReadError), 200)
    assert (await make(script).request("GET", "/locations")).status_code == 200
    assert len(script.requests) == 2


async def test_connect_error_on_write_is_retried(make: Any) -> None:
    script = Script(raises(httpx.ConnectError), 201)
    response = await make(script).request("POST", "/patients", json={"x": 1}, write=True)
    assert response.status_code == 201
    assert len(script.requests) == 2


@pytest.mark.parametrize("status", [502, 504])
async def test_gateway_error_on_write_is_outcome_unknown(make: Any, status: int) -> None:
    script = Script(status, 201)
    with pytest.raises(Unavailable) as info:
        await make(script).request("PUT", "/appointments/9", write=True)
    assert info.value.outcome_unknown is True
    assert len(script.requests) == 1


async def test_503_on_write_is_retried(make: Any) -> None:
    script = Script(503, 201)
    assert (await make(script).request("POST", "/patients", write=True)).status_code == 201


async def test_429_with_long_retry_after_is_raised_at_once(make: Any, clock: FakeClock) -> None:
    script = Script(lambda r: httpx.Response(429, headers={"Retry-After": "30"}))
    with pytest.raises(RateLimited) as info:
        await make(script).request("GET", "/patients")
    assert info.value.retry_after == 30.0
    assert len(script.requests) == 1
    assert clock.sleeps == []


async def test_429_with_short_retry_after_is_retried_once(make: Any, clock: FakeClock) -> None:
    script = Script(lambda r: httpx.Response(429, headers={"Retry-After": "0.5"}), 200)
    assert (await make(script).request("GET", "/patients")).status_code == 200
    assert len(script.requests) == 2
    assert clock.sleeps == [0.5]  # Retry-After beat the 0.2 s backoff


async def test_permanent_errors_are_not_retried(make: Any) -> None:
    script = Script(400, 200)
    with pytest.raises(ValidationFailed):
        await make(script).request("POST", "/patients", write=True)
    assert len(script.requests) == 1


async def test_unrecognised_transport_failure_is_generic_and_final(make: Any) -> None:
    script = Script(raises(httpx.DecodingError), 200)
    with pytest.raises(PMSError) as info:
        await make(script).request("GET", "/locations")
    assert type(info.value) is PMSError
    assert not info.value.retryable
    assert isinstance(info.value.__cause__, httpx.DecodingError)
    assert len(script.requests) == 1


async def test_vendor_mapper_decides_and_a_broken_mapper_is_contained(make: Any) -> None:
    def vendor_mapper(response: httpx.Response) -> PMSError:
        code = response.json()["code"]
        return default_error_mapper(409 if code == "SLOT_TAKEN" else response.status_code, None, code)

    script = Script(lambda r: httpx.Response(400, json={"code": "SLOT_TAKEN"}))
    with pytest.raises(PMSError) as info:
        await make(script, error_mapper=vendor_mapper).request("POST", "/appointments", write=True)
    assert info.value.vendor_code == "SLOT_TAKEN"
    assert info.value.http_status == 409

    broken = Script(lambda r: httpx.Response(500, text="<html>not json</html>"))
    with pytest.raises(PMSError) as info:
        await make(broken, error_mapper=vendor_mapper).request("GET", "/x")
    assert type(info.value) is PMSError
    assert info.value.http_status == 500


# -- deadline ----------------------------------------------------------------------------------------------


async def test_deadline_stops_retries_before_the_cap(make: Any, clock: FakeClock) -> None:
    script = Script(503)
    client = make(script, retry=RetryPolicy(max_attempts=10, base_delay=0.4), remaining=clock.deadline(1.0))
    with pytest.raises(Unavailable):
        await client.request("GET", "/locations")
    # Slept 0.4 (0.6 left); the next backoff, 0.8, would end past the deadline: stop at 2 of 10 attempts.
    assert clock.sleeps == [0.4]
    assert len(script.requests) == 2
    assert clock.now < 1.0


async def test_passed_deadline_sends_nothing(make: Any, clock: FakeClock) -> None:
    script = Script(200)
    with pytest.raises(PMSTimeout, match="deadline exceeded"):
        await make(script, remaining=clock.deadline(0.0)).request("GET", "/locations")
    assert script.requests == []


async def test_attempt_timeouts_are_capped_by_the_deadline(make: Any, clock: FakeClock) -> None:
    script = Script(200)
    await make(script, remaining=clock.deadline(1.5)).request("GET", "/locations")
    timeouts = script.requests[0].extensions["timeout"]
    assert timeouts == {"connect": 1.5, "read": 1.5, "write": 1.5, "pool": 1.5}

    await make(script, remaining=clock.deadline(60.0)).request("GET", "/locations")
    assert script.requests[1].extensions["timeout"] == {
        "connect": 3.0,
        "read": 10.0,
        "write": 10.0,
        "pool": 10.0,
    }


async def test_real_deadline_scope_is_the_default() -> None:
    from adapters.deadline import deadline_scope

    script = Script(200)
    client = PMSHttpClient(base_url=BASE, vendor="testpms", transport=httpx.MockTransport(script))
    with deadline_scope(seconds=-1.0), pytest.raises(PMSTimeout):
        await client.request("GET", "/locations")
    await client.aclose()
    assert script.requests == []


# -- auth --------------------------------------------------------------------------------------------------


def auth_script(valid: set[str]) -> Script:
    def step(request: httpx.Request) -> httpx.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return httpx.Response(200 if token in valid else 401)

    return Script(step)


async def test_401_refreshes_once_and_resends(make: Any, clock: FakeClock) -> None:
    source = CountingTokenSource(clock)
    script = auth_script(valid={"tok-2"})
    client = make(script, token_cache=TokenCache(source, clock=clock))
    assert (await client.request("GET", "/patients/1")).status_code == 200
    assert [r.headers["Authorization"] for r in script.requests] == ["Bearer tok-1", "Bearer tok-2"]
    assert source.fetches == 2


async def test_401_after_refresh_is_unauthorized(make: Any, clock: FakeClock) -> None:
    source = CountingTokenSource(clock)
    script = auth_script(valid=set())
    client = make(script, token_cache=TokenCache(source, clock=clock))
    with pytest.raises(Unauthorized):
        await client.request("GET", "/patients/1")
    assert len(script.requests) == 2
    assert source.fetches == 2


async def test_401_without_token_is_not_resent(make: Any) -> None:
    script = Script(401)
    with pytest.raises(Unauthorized):
        await make(script).request("GET", "/patients/1")
    assert len(script.requests) == 1


async def test_custom_auth_header(make: Any, clock: FakeClock) -> None:
    script = Script(200)
    client = make(
        script,
        token_cache=TokenCache(CountingTokenSource(clock), clock=clock),
        auth_header=lambda t: {"X-Api-Key": t},
        default_headers={"X-App": "relay"},
    )
    await client.request("GET", "/x", headers={"X-Req": "1"})
    sent = script.requests[0].headers
    assert (sent["X-Api-Key"], sent["X-App"], sent["X-Req"]) == ("tok-1", "relay", "1")
    assert "Authorization" not in sent


async def test_concurrent_calls_with_expired_token_fetch_once(make: Any, clock: FakeClock) -> None:
    source = CountingTokenSource(clock, ttl=1000.0)
    cache = TokenCache(source, refresh_ahead=0.0, clock=clock)
    script = Script(200)
    client = make(script, token_cache=cache)
    await client.request("GET", "/a")
    clock.now = 2000.0  # tok-1 expired
    source.gate = asyncio.Event()
    calls = [asyncio.create_task(client.request("GET", "/b")) for _ in range(2)]
    await wait_until(lambda: source.fetches == 2)
    source.gate.set()
    await asyncio.gather(*calls)
    assert source.fetches == 2  # one initial, one refresh for both calls
    assert [r.headers["Authorization"] for r in script.requests[1:]] == ["Bearer tok-2"] * 2


async def test_token_is_refreshed_ahead_of_expiry(make: Any, clock: FakeClock) -> None:
    source = CountingTokenSource(clock, ttl=1000.0)
    script = Script(200)
    client = make(script, token_cache=TokenCache(source, refresh_ahead=300.0, clock=clock))
    await client.request("GET", "/a")
    clock.now = 750.0  # still valid, inside the refresh-ahead window
    await client.request("GET", "/a")
    assert [r.headers["Authorization"] for r in script.requests] == ["Bearer tok-1", "Bearer tok-2"]


# -- limiter -----------------------------------------------------------------------------------------------


async def test_limiter_bounds_requests_in_flight(make: Any) -> None:
    release = asyncio.Event()
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await release.wait()
        in_flight -= 1
        return httpx.Response(200)

    client = make(handler, limiter=PracticeRateLimiter(1000.0, 3, remaining=lambda: None))
    calls = [asyncio.create_task(client.request("GET", f"/p/{i}")) for i in range(8)]
    await wait_until(lambda: in_flight == 3)
    for _ in range(20):
        await asyncio.sleep(0)
    release.set()
    responses = await asyncio.gather(*calls)
    assert peak == 3
    assert [r.status_code for r in responses] == [200] * 8


async def test_limiter_rate_spaces_requests_and_times_out_within_the_deadline(make: Any) -> None:
    script = Script(200)
    limiter = PracticeRateLimiter(3.0, 10, remaining=lambda: 0.05)
    client = make(script, limiter=limiter, retry=RetryPolicy(max_attempts=1))
    results = await asyncio.gather(*(client.request("GET", "/p") for _ in range(6)), return_exceptions=True)
    assert len(script.requests) == 1
    assert sum(isinstance(r, PMSTimeout) for r in results) == 5


# -- no patient data, tracing ------------------------------------------------------------------------------

NAME = "Zebulon"


@pytest.mark.parametrize(
    "step",
    [
        lambda r: httpx.Response(400, json={"error": f"bad name {NAME}"}),
        lambda r: httpx.Response(500, text=f"{NAME} broke us"),
        raises(httpx.ReadTimeout),
        raises(httpx.ConnectError),
    ],
)
async def test_no_patient_data_in_errors_spans_or_logs(
    make: Any, step: Any, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = make(Script(step), tracer=provider.get_tracer("test"))
    # httpx's own INFO line carries the full URL: the app's logging config must keep "httpx" at WARNING.
    caplog.set_level(logging.DEBUG, logger="adapters")
    with pytest.raises(PMSError) as info:
        await client.request(
            "POST",
            "/patients/search",
            params={"lastName": NAME},
            json={"lastName": NAME},
            write=True,
        )
    assert NAME not in str(info.value)
    assert NAME not in repr(info.value)
    assert str(info.value).startswith("POST /patients/search")
    assert NAME not in "".join(r.getMessage() for r in caplog.records if r.name.startswith("adapters"))
    for span in exporter.get_finished_spans():
        assert NAME not in span.name
        assert NAME not in json.dumps(dict(span.attributes or {}))
        assert NAME not in (span.status.description or "")
        assert not span.events


async def test_each_attempt_is_a_client_span_with_only_safe_attributes(make: Any) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = make(Script(503, 200), tracer=provider.get_tracer("test"))
    await client.request("GET", "/patients/{id}", path_params={"id": "42"}, params={"x": "1"})

    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["GET /patients/{id}"] * 2
    assert all(s.kind is SpanKind.CLIENT for s in spans)
    assert dict(spans[1].attributes or {}) == {
        "http.request.method": "GET",
        "server.address": "pms.test",
        "url.template": "/patients/{id}",
        "pms.vendor": "testpms",
        "http.response.status_code": 200,
    }
    assert spans[0].status.status_code is StatusCode.ERROR
    assert spans[0].attributes["http.response.status_code"] == 503  # type: ignore[index]


async def test_the_global_provider_is_used_once_set_and_untraced_calls_still_map_errors(
    make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry import trace

    client = make(Script(raises(httpx.ConnectError), 200, 200))  # no tracer of its own
    await client.request("GET", "/patients")  # no provider yet: untraced, and the connect error retried
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)  # as set_tracer_provider, but undone after
    await client.request("GET", "/patients")

    assert [s.name for s in exporter.get_finished_spans()] == ["GET /patients"]


async def test_an_id_fills_the_route_on_the_wire_only(make: Any) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    script = Script(404)
    client = make(script, path_prefix="/v2", tracer=provider.get_tracer("test"))
    with pytest.raises(NotFound) as info:
        await client.request("PUT", "/patients/{id}", path_params={"id": "../a b"}, write=True)
    assert script.requests[0].url.raw_path == b"/api/v2/patients/..%2Fa%20b"
    assert str(info.value) == "PUT /patients/{id} -> HTTP 404"
    (span,) = exporter.get_finished_spans()
    assert span.name == "PUT /patients/{id}"
    assert "a b" not in json.dumps(dict(span.attributes or {}))


async def test_an_empty_id_is_refused_before_sending(make: Any) -> None:
    script = Script(200)
    with pytest.raises(ValidationFailed):
        await make(script).request("GET", "/patients/{id}", path_params={"id": ""})
    assert script.requests == []


async def test_query_and_route_reach_the_transport(make: Any) -> None:
    script = Script(200)
    await make(script).request("GET", "/patients", params={"lastName": "Doe"})
    assert script.requests[0].url == httpx.URL(f"{BASE}/patients?lastName=Doe")


def test_retry_after_parser_is_exported() -> None:
    assert parse_retry_after("3") == 3.0
