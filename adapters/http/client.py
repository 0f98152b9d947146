"""One pooled HTTP client per PMS endpoint, shared by every operation of the adapter that owns it.

Flow of :meth:`PMSHttpClient.request`, per attempt::

    deadline check -> rate limiter -> token -> send -> 401? refresh once, resend -> 2xx: response
                                                                               -> else: vendor error mapper

and around the attempts, in-call retries decided by the pure policy of :mod:`adapters.http.retry` and
bounded by both the attempt cap and the caller's deadline: the first try is made directly, tenacity drives
the loop from the second. "send" hands the request to the transport itself (:meth:`PMSHttpClient._deliver`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, SpanKind, Status, StatusCode, Tracer
from tenacity import AsyncRetrying, RetryCallState, stop_never

from adapters import deadline
from adapters.errors import PMSError, PMSTimeout
from adapters.http.auth import TokenCache
from adapters.http.errors import ROUTE_EXTENSION, ErrorMapper, map_response, map_transport_errors
from adapters.http.paths import path, request_url
from adapters.http.ratelimit import PracticeRateLimiter
from adapters.http.retry import Jitter, RetryPolicy, equal_jitter, fits_deadline, next_delay, should_retry
from adapters.http.transport import default_transport, http1_context

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "PMSHttpClient",
    "bearer_auth",
    "pool_limits",
    "retry_listener",
]

_log = logging.getLogger(__name__)


class _DropQueryStrings(logging.Filter):
    """httpx logs each request's full URL at INFO; a query string can carry a patient's name or birth date."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                arg.copy_with(query=None) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


# Installed on import so no application logging setup can forget it.
logging.getLogger("httpx").addFilter(_DropQueryStrings())

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30)


def pool_limits(max_concurrent: int) -> httpx.Limits:
    """A pool of one kept-alive connection per concurrent call: a practice's calls never wait for a
    connection nor open one per call (a pool smaller than the concurrency churns connections)."""
    return httpx.Limits(
        max_connections=max_concurrent, max_keepalive_connections=max_concurrent, keepalive_expiry=30
    )


# A gateway answering 502/504 may already have handed a write to the PMS behind it.
_GATEWAY_STATUSES = frozenset({502, 504})

Params = Mapping[str, Any] | None

# Told of every in-call retry (the error that caused it); the stream layer sets it per command, like the
# deadline, so the nine operations need no extra argument. Metrics count these.
retry_listener: ContextVar[Callable[[PMSError], None] | None] = ContextVar(
    "pms_http_retry_listener", default=None
)


def bearer_auth(token: str) -> dict[str, str]:
    """The usual ``auth_header``: ``Authorization: Bearer <token>``."""
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class _Call:
    """One logical request, possibly sent several times.

    ``route`` (the template) names it in messages and spans; ``path`` (the template filled in, ids and all)
    is only ever sent. Neither holds the query string: it may carry a patient's name.
    """

    method: str
    route: str
    path: str
    write: bool
    params: Params = None
    json: Any = None
    data: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.method} {self.route}"


class PMSHttpClient:
    """Pooled, rate-limited, authenticated, retrying HTTP access to one PMS endpoint.

    ``path_prefix`` (e.g. ``"/api/v1"``) goes before every route when sent, and never into a route label.
    Raises only :mod:`adapters.errors` types. ``transport`` defaults to
    :func:`adapters.http.transport.default_transport` (aiohttp's pool under httpx's interface). ``remaining`` (the caller's deadline budget, default
    :func:`adapters.deadline.remaining`), ``sleep`` and ``jitter`` are injectable so tests need no real time.
    """

    def __init__(
        self,
        *,
        base_url: str,
        vendor: str,
        path_prefix: str = "",
        error_mapper: ErrorMapper = map_response,
        token_cache: TokenCache | None = None,
        auth_header: Callable[[str], dict[str, str]] | None = None,
        default_headers: dict[str, str] | None = None,
        limiter: PracticeRateLimiter | None = None,
        retry: RetryPolicy = RetryPolicy(),
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        limits: httpx.Limits = DEFAULT_LIMITS,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Jitter = equal_jitter,
        remaining: Callable[[], float | None] = deadline.remaining,
        tracer: Tracer | None = None,
    ) -> None:
        self.vendor = vendor
        self._prefix = path_prefix
        self._error_mapper = error_mapper
        self._token_cache = token_cache
        self._auth_header = auth_header or bearer_auth
        self._limiter = limiter
        self._policy = retry
        self._timeout = timeout
        self._sleep = sleep
        self._jitter = jitter
        self._remaining = remaining
        self._tracer = tracer or trace.get_tracer(__name__)
        self._traced_always = tracer is not None  # a tracer given is used; the global one only once set
        # None behind a proxy: then httpx's client picks its own proxy-aware transport for each URL.
        self._transport = transport or default_transport(limits)
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=default_headers,
            timeout=timeout,
            limits=limits,
            transport=self._transport,
            verify=http1_context(),  # used when httpx's own transport sends (a proxy): shared, not one each
            follow_redirects=False,
        )
        self._host = self._http.base_url.host

    async def request(
        self,
        method: str,
        route: str,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Params = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        write: bool = False,
    ) -> httpx.Response:
        """Send until a 2xx response (returned) or an error that policy or deadline will not retry (raised).

        ``route``: the path template below ``path_prefix`` (``"/patients/{id}"``), filled with
        ``path_params``, each value one percent-encoded segment (:func:`adapters.http.paths.path`; an empty
        one is :class:`~adapters.errors.ValidationFailed`, nothing sent). The template, never the filled
        path, names the request in spans, logs and messages. The query goes in ``params``.
        ``write``: the request may change the PMS, so a lost answer means an unknown outcome and no resend.
        """
        sent = self._prefix + path(route, **(path_params or {}))
        call = _Call(method.upper(), route, sent, write, params, json, data, dict(headers or {}))
        # The first try outside tenacity: nearly every call ends there, and tenacity's loop (its state, a
        # future per attempt, its action list) cost a tenth of a request's CPU. The same policy decides.
        try:
            return await self._attempt(call)
        except PMSError as error:
            delay = self._retry_delay(call, error, attempt=1)
            if delay is None:
                raise
        await self._sleep(delay)
        retrying = AsyncRetrying(
            retry=lambda state: self._should_retry(call, state),
            wait=self._wait,
            stop=stop_never,  # the cap is part of should_retry
            sleep=self._sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt(call)
        raise AssertionError("unreachable: tenacity either returns or reraises")

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def __aenter__(self) -> PMSHttpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- retry glue: tenacity drives the loop, the pure policy decides -------------------------------------

    def _should_retry(self, call: _Call, state: RetryCallState) -> bool:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        if not isinstance(error, PMSError):
            return False
        # tenacity counts from the second try: the first was made before its loop began.
        delay = self._retry_delay(call, error, attempt=state.attempt_number + 1)
        if delay is None:
            return False
        state.upcoming_sleep = delay  # read back by _wait, so the policy's delay is the one slept
        return True

    def _retry_delay(self, call: _Call, error: PMSError, *, attempt: int) -> float | None:
        """How long to wait before trying again after try number ``attempt`` failed with ``error``; None:
        raise it (the policy, the attempt cap or the deadline says so)."""
        budget = self._remaining()
        if not should_retry(
            error, attempt=attempt, policy=self._policy, is_write=call.write, remaining=budget
        ):
            return None
        delay = next_delay(attempt, self._policy, retry_after=error.retry_after, jitter=self._jitter)
        if not fits_deadline(delay, budget):
            return None
        _log.info(
            "pms http retry vendor=%s request=%s attempt=%d code=%s status=%s delay=%.3f",
            self.vendor,
            call.where,
            attempt,
            error.code,
            error.http_status,
            delay,
        )
        listener = retry_listener.get()
        if listener is not None:
            listener(error)
        return delay

    @staticmethod
    def _wait(state: RetryCallState) -> float:
        return state.upcoming_sleep

    # -- one attempt ---------------------------------------------------------------------------------------

    async def _attempt(self, call: _Call) -> httpx.Response:
        budget = self._remaining()
        if budget is not None and budget <= 0:
            raise PMSTimeout(f"{call.where}: deadline exceeded, not sent")
        if self._limiter is None:
            return await self._exchange(call)
        async with self._limiter:
            return await self._exchange(call)

    async def _exchange(self, call: _Call) -> httpx.Response:
        token = await self._token_cache.get(self._http) if self._token_cache else None
        response = await self._send(call, token)
        if response.status_code == 401 and self._token_cache is not None and token is not None:
            # The token may have been revoked or rotated early: one refresh, one resend, then it is final.
            token = await self._token_cache.refresh(self._http, stale=token)
            response = await self._send(call, token)
        if response.is_success:
            return response
        raise self._to_error(call, response)

    async def _send(self, call: _Call, token: str | None) -> httpx.Response:
        headers = self._http.headers.copy()  # the client's defaults (User-Agent, Accept, ...) and ours
        headers.update(call.headers)
        if token is not None:
            headers.update(self._auth_header(token))
        request = httpx.Request(
            call.method,
            request_url(self._http.base_url, call.path, call.params),
            json=call.json,
            data=call.data,
            headers=headers,
            extensions={"timeout": self._attempt_timeout().as_dict(), ROUTE_EXTENSION: call.route},
        )
        if not (self._traced_always or _tracing_installed()):
            # No provider: the span would be a no-op that still costs its set-up (a twentieth of a request).
            with map_transport_errors(call.where, write=call.write):
                return await self._deliver(request)
        with self._tracer.start_as_current_span(
            call.where,
            kind=SpanKind.CLIENT,
            attributes=self._span_attributes(call),
            record_exception=False,  # exception text stays out of traces, codes only
            set_status_on_exception=False,
        ) as span:
            try:
                with map_transport_errors(call.where, write=call.write):
                    response = await self._deliver(request)
            except PMSError as exc:
                span.set_status(Status(StatusCode.ERROR, exc.code))
                raise
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 400:
                span.set_status(Status(StatusCode.ERROR))
            return response

    async def _deliver(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` as it is and read the whole answer.

        Straight to the transport: ``AsyncClient.send`` runs an auth flow, a redirect loop, cookie
        extraction and event hooks around it, none of which this client uses (auth is a header set above,
        redirects are refused, a PMS session is never a cookie), at about a fifth of a request's CPU
        (``deploy/bench/http_cost.py``). Behind a proxy the client sends, as it alone knows the proxies.
        """
        if self._transport is None:
            return await self._http.send(request)
        if self._http.is_closed:
            raise RuntimeError("this PMS client has been closed")
        response = await self._transport.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        except BaseException:
            await response.aclose()
            raise
        return response

    def _span_attributes(self, call: _Call) -> dict[str, str]:
        return {
            "http.request.method": call.method,
            "server.address": self._host,
            "url.template": call.route,
            "pms.vendor": self.vendor,
        }

    def _attempt_timeout(self) -> httpx.Timeout:
        """The client's timeouts, each cut to the deadline budget so no attempt outlives the caller."""
        budget = self._remaining()
        if budget is None:
            return self._timeout
        t = self._timeout
        return httpx.Timeout(
            connect=_cap(t.connect, budget),
            read=_cap(t.read, budget),
            write=_cap(t.write, budget),
            pool=_cap(t.pool, budget),
        )

    def _to_error(self, call: _Call, response: httpx.Response) -> PMSError:
        try:
            error = self._error_mapper(response)
        except Exception as exc:  # a vendor mapper choking on an odd body must not hide the status
            error = PMSError(f"{call.where} -> HTTP {response.status_code}: error mapper failed")
            error.__cause__ = exc
            error.http_status = response.status_code
        if call.write and response.status_code in _GATEWAY_STATUSES and error.retryable:
            error.outcome_unknown = True
        return error


def _tracing_installed() -> bool:
    # As streams.tracing.recording(), which adapters do not import: a provider set later is seen at once.
    return not isinstance(trace.get_tracer_provider(), ProxyTracerProvider | NoOpTracerProvider)


def _cap(value: float | None, budget: float) -> float:
    return max(0.0, budget if value is None else min(value, budget))
