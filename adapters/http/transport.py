"""httpx's interface over aiohttp's connection pool: the transport every PMS client sends through.

httpx stays what the adapters speak (requests, responses, timeouts, the exception tree); only the wire is
aiohttp's, which costs a fraction of httpcore's CPU per request (``deploy/bench/http_cost.py``). The
transport keeps httpx's behaviour where the two differ:

- **URLs go out as httpx encoded them.** yarl would requote a plain string, decode ``%2E`` and resolve dot
  segments (``/patients/%2E%2E/x`` would become ``/x``); the URL is handed over as already encoded, so an
  id stays one segment (:mod:`adapters.http.paths`).
- **Failures raise httpx's types**, the ones httpcore raises for the same failure (:func:`_httpx_error`),
  so :func:`adapters.http.errors.map_transport_errors` decides retryability exactly as before.
- **Timeouts mean what httpx's do**: ``pool`` bounds the wait for a connection (httpx.PoolTimeout, nothing
  sent), ``connect`` the DNS, TCP and TLS set-up, ``read`` each read; aiohttp has no write timeout, so the
  exchange as a whole is bounded by ``connect + write + read``.
- **One send per request.** aiohttp resends an idempotent request (PUT too) once when a kept-alive
  connection breaks under it; httpx never does, and a resend is the retry policy's decision, not ours.
- **No cookies, no redirects, no decompression, no headers of its own**: httpx already does each of these
  (or, for redirects, the client refuses them) on its side of the seam.
- **TLS as httpx verifies** (:func:`httpx.create_ssl_context`: certifi, ``SSL_CERT_FILE``), HTTP/1.1 ALPN,
  through one context shared by every client (:func:`http1_context`).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import urllib.request
from functools import cache, lru_cache
from typing import Any

import aiohttp
import httpx
from yarl import URL

__all__ = ["AiohttpTransport", "default_transport", "http1_context"]

# Headers aiohttp adds when absent; httpx has set (or deliberately left out) each one already.
_NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
_OS_ERRORS = ("ConnectionResetError", "ConnectionAbortedError", "BrokenPipeError", "OSError")


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An :class:`httpx.AsyncBaseTransport` over one :class:`aiohttp.ClientSession`, opened on first use
    (inside the running loop) and closed by :meth:`aclose`.

    ``limits.max_connections`` bounds the pool (None: unbounded); idle connections are kept
    ``limits.keepalive_expiry`` seconds.
    """

    def __init__(self, *, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> None:
        self._limits = limits
        self._ssl = ssl_context or http1_context()
        size = limits.max_connections
        self._slots = asyncio.Semaphore(size) if size is not None else None
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=self._limits.keepalive_expiry or 0,
            ssl=self._ssl,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
        )
        # aiohttp resends an idempotent request once when a reused connection fails under it; nothing
        # public turns that off (its own test client sets this too).
        session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        if self._slots is None:
            return await self._exchange(request, timeouts)
        if self._slots.locked():  # wait, bounded; a free slot is taken at once, with no timer to arm
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await self._slots.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout("no connection available in the pool in time") from None
        else:
            await self._slots.acquire()
        try:
            return await self._exchange(request, timeouts)
        finally:
            self._slots.release()

    async def _exchange(self, request: httpx.Request, timeouts: dict[str, float | None]) -> httpx.Response:
        if self._session is None:
            self._session = self._open()
        body = await request.aread()
        try:
            async with self._session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
                data=body or None,
                skip_auto_headers=_NO_AUTO_HEADERS,
                allow_redirects=False,
                timeout=_client_timeout(timeouts),
                server_hostname=request.extensions.get("sni_hostname"),
            ) as response:
                content = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _httpx_error(exc) from exc
        # The body is read here, so the response is built read (and decoded, httpx's Content-Encoding
        # decoders as before): its ``aread`` then returns at once, without the chain of async generators
        # (raw bytes, decoded bytes, chunks) that reading a stream takes.
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            content=content,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def default_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport | None:
    """The transport a PMS client sends through: :class:`AiohttpTransport`, or None (httpx's own) when the
    environment names a proxy, which httpx honours (``HTTPS_PROXY``, ``NO_PROXY``) and this transport does
    not."""
    if urllib.request.getproxies():
        return None
    return AiohttpTransport(limits=limits)


def http1_context() -> ssl.SSLContext:
    """The TLS context every PMS client verifies with: httpx's trust store, HTTP/1.1 ALPN.

    One per process, not one per client: loading the certifi bundle costs ~0.8 MiB of OpenSSL memory per
    context, which was nearly all of what a practice cost a worker (``deploy/bench/memory.py``). Sharing is
    safe: nothing changes the context once made (httpcore, behind a proxy, sets the same ALPN again on
    each connection). It is remade when ``SSL_CERT_FILE`` or ``SSL_CERT_DIR``
    names another trust store, which httpx reads when a context is made; a store edited in place under the
    same name is read again only by a new process.
    """
    return _trusted_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@cache  # one entry per trust store named, a process sees one or two
def _trusted_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    context = httpx.create_ssl_context()  # reads the same two variables
    context.set_alpn_protocols(["http/1.1"])  # as httpcore offers for an HTTP/1.1-only client
    return context


def _client_timeout(timeouts: dict[str, float | None]) -> aiohttp.ClientTimeout:
    return _aiohttp_timeout(timeouts.get("connect"), timeouts.get("read"), timeouts.get("write"))


# Frozen, so shared: a client's timeouts are the same on nearly every request (a deadline cuts them only
# in its last seconds), and building one costs more than the lookup.
@lru_cache(maxsize=256)
def _aiohttp_timeout(connect: float | None, read: float | None, write: float | None) -> aiohttp.ClientTimeout:
    parts = (connect, read, write)
    return aiohttp.ClientTimeout(
        total=None if None in parts else sum(p for p in parts if p is not None),
        connect=connect,
        sock_connect=connect,
        sock_read=read,
    )


def _httpx_error(exc: BaseException) -> httpx.TransportError:
    """The httpx exception httpcore raises for the failure aiohttp reports as ``exc``.

    The order matters: aiohttp's tree is not httpx's (a read timeout is also a connection error, a
    connect failure also an OS error), so the most specific case comes first. The message is aiohttp's
    class name only: its text quotes the URL, whose query may hold a patient's name.
    """
    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(exc, TimeoutError):  # a read stalled (sock_read), or the exchange outran its bound
        kind = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.ClientConnectorError):  # refused, unreachable, DNS, TLS handshake
        kind = httpx.ConnectError
    elif isinstance(exc, aiohttp.ClientPayloadError):  # the body broke off
        kind = _body_error(exc)
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        kind = httpx.RemoteProtocolError  # closed before the answer, or an answer that is not HTTP
    elif isinstance(exc, aiohttp.ClientOSError):
        kind = httpx.WriteError if "write request body" in str(exc) else httpx.ReadError
    elif isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        kind = httpx.UnsupportedProtocol
    else:
        kind = httpx.TransportError
    return kind(f"aiohttp {type(exc).__name__}")


def _body_error(exc: aiohttp.ClientPayloadError) -> type[httpx.TransportError]:
    cause: Any = exc.__cause__ or exc.__context__
    if isinstance(cause, TimeoutError):
        return httpx.ReadTimeout
    # aiohttp names a connection error behind a cut-off body in the message only ("... not completed:
    # <ContentLengthError ...>. ConnectionResetError(104, ...)"); a clean close names none.
    if isinstance(cause, OSError) or any(name in str(exc) for name in _OS_ERRORS):
        return httpx.ReadError
    return httpx.RemoteProtocolError  # closed before the body was complete
