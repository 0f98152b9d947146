"""The aiohttp transport against httpx's own, on real loopback servers that misbehave on purpose.

Retryability is decided from the httpx exception type (:func:`adapters.http.errors.map_transport_errors`),
so for each failure -- refused, stalled before or inside the answer, reset, closed, not HTTP, no pooled
connection -- both transports must raise the same type. And what reaches the server must be the same bytes
of path, query and headers, hostile ids included: yarl must neither decode ``%2F``/``%2E`` nor resolve dot
segments.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from adapters.errors import ConnectionLost, PMSError, PMSTimeout
from adapters.http.client import PMSHttpClient, pool_limits
from adapters.http.errors import map_transport_errors
from adapters.http.paths import path
from adapters.http.transport import AiohttpTransport
from deploy.local.tls import make_tls_files

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]

_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
_TIMEOUT = httpx.Timeout(0.3, connect=0.3, pool=0.2)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Server:
    url: str
    heads: list[bytes] = field(default_factory=list)  # every request head received, in order
    connections: int = 0


async def _read_head(reader: asyncio.StreamReader, server: Server) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    server.heads.append(head)
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":")[1]))
    return head


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _behaviour(mode: str, server: Server) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        try:
            while True:
                await _read_head(reader, server)
                if mode == "ok":
                    writer.write(_OK)
                elif mode == "stall":
                    await asyncio.sleep(5)
                elif mode == "stall-body":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
                    await asyncio.sleep(5)
                elif mode == "reset":
                    _reset(writer)
                    return
                elif mode == "reset-body":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
                    await writer.drain()
                    await asyncio.sleep(0.05)
                    _reset(writer)
                    return
                elif mode == "close":
                    break
                elif mode == "close-body":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
                    break
                elif mode == "garbage":
                    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
                    break
                elif mode == "once-then-close":  # answers the first request of a connection only
                    writer.write(_OK)
                    await writer.drain()
                    await _read_head(reader, server)
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    return handle


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[str], Awaitable[Server]]]:
    servers: list[asyncio.Server] = []

    async def start(mode: str) -> Server:
        server = Server("")
        listening = await asyncio.start_server(_behaviour(mode, server), "127.0.0.1", 0)
        servers.append(listening)
        server.url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
        return server

    yield start
    for listening in servers:
        listening.close()


def _refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # bound once, now closed: nothing listens there


TRANSPORTS = {
    "httpx": lambda limits: None,
    "aiohttp": lambda limits: AiohttpTransport(limits=limits),
}


def _client(name: str, url: str, limits: httpx.Limits | None = None) -> httpx.AsyncClient:
    limits = limits or httpx.Limits(max_connections=4, max_keepalive_connections=4)
    return httpx.AsyncClient(
        base_url=url, timeout=_TIMEOUT, limits=limits, transport=TRANSPORTS[name](limits)
    )


async def _failure(name: str, url: str, method: str = "GET") -> BaseException:
    async with _client(name, url) as client:
        with pytest.raises(httpx.TransportError) as caught:
            await client.request(method, "/patients", json={"a": 1} if method != "GET" else None)
    return caught.value


FAILURES = [
    ("stall", httpx.ReadTimeout),
    ("stall-body", httpx.ReadTimeout),
    ("reset", httpx.ReadError),
    ("reset-body", httpx.ReadError),
    ("close", httpx.RemoteProtocolError),
    ("close-body", httpx.RemoteProtocolError),
    ("garbage", httpx.RemoteProtocolError),
]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("mode", "expected"), FAILURES)
async def test_a_failure_raises_the_httpx_type_httpcore_raises(
    serve: Callable[[str], Awaitable[Server]], transport: str, mode: str, expected: type[Exception]
) -> None:
    server = await serve(mode)
    assert type(await _failure(transport, server.url)) is expected


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_refused_connection_is_a_connect_error(transport: str) -> None:
    assert type(await _failure(transport, _refused_url())) is httpx.ConnectError


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_no_pooled_connection_in_time_is_a_pool_timeout(
    serve: Callable[[str], Awaitable[Server]], transport: str
) -> None:
    server = await serve("stall")
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with _client(transport, server.url, limits) as client:
        first = asyncio.create_task(client.get("/slow"))
        await asyncio.sleep(0.05)  # the one connection is now taken
        with pytest.raises(httpx.PoolTimeout):
            await client.get("/waiting")
        with pytest.raises(httpx.ReadTimeout):
            await first
    assert len(server.heads) == 1  # the request that timed out in the pool was never sent


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("method", ["GET", "PUT", "POST"])
async def test_a_request_is_sent_once_when_a_kept_alive_connection_breaks(
    serve: Callable[[str], Awaitable[Server]], transport: str, method: str
) -> None:
    server = await serve("once-then-close")
    async with _client(transport, server.url) as client:
        assert (await client.get("/first")).status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            await client.request(method, "/second", json={"a": 1})
    assert len(server.heads) == 2  # no silent resend on a fresh connection: that is the retry policy's call


@pytest.mark.parametrize(
    ("mode", "write", "expected", "unknown"),
    [
        ("refused", True, ConnectionLost, False),
        ("stall", True, PMSTimeout, True),
        ("stall", False, PMSTimeout, False),
        ("reset", True, ConnectionLost, True),
        ("close", True, ConnectionLost, True),
    ],
)
async def test_the_relay_error_and_its_outcome_are_the_ones_httpx_gave(
    serve: Callable[[str], Awaitable[Server]], mode: str, write: bool, expected: type[PMSError], unknown: bool
) -> None:
    url = _refused_url() if mode == "refused" else (await serve(mode)).url
    async with _client("aiohttp", url) as client:
        with pytest.raises(PMSError) as caught, map_transport_errors("POST /patients", write=write):
            await client.post("/patients", json={"a": 1})
    assert type(caught.value) is expected
    assert caught.value.outcome_unknown is unknown
    assert caught.value.retryable


HOSTILE_IDS = ["a/b", "..", ".", "%2F", "a?b=c", "a#b", "a b", "~x", "é", "a%2E%2E"]


def _head_lines(head: bytes) -> tuple[bytes, list[bytes]]:
    request_line, *headers = head.rstrip(b"\r\n").split(b"\r\n")
    return request_line, sorted(line.lower() for line in headers)


@pytest.mark.parametrize("record_id", HOSTILE_IDS)
async def test_a_hostile_id_reaches_the_server_as_httpx_sends_it(
    serve: Callable[[str], Awaitable[Server]], record_id: str
) -> None:
    server = await serve("ok")
    route = path("/api/patients/{id}", id=record_id)
    for name in TRANSPORTS:
        async with _client(name, server.url) as client:
            await client.get(route, params={"q": "a/b c&d", "empty": ""}, headers={"X-Org": "o1"})
    via_httpx, via_aiohttp = (_head_lines(head) for head in server.heads)
    assert via_aiohttp == via_httpx
    assert via_aiohttp[0].split(b" ")[1].startswith(b"/api/patients/" + route.rsplit("/", 1)[1].encode())


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.post("/token", params={"grant_type": "x"}, data={"client_id": "i", "client_secret": "s"}),
        lambda c: c.post("/patients", json={"name": "n"}, headers={"Authorization": "Bearer t"}),
        lambda c: c.put("/patients/1", json={"name": "n"}),
        lambda c: c.post("/empty"),
        lambda c: c.get("/x", headers={"Accept": "application/json"}),
    ],
)
async def test_method_headers_and_body_are_the_ones_httpx_sends(
    serve: Callable[[str], Awaitable[Server]], send: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]
) -> None:
    server = await serve("ok")
    for name in TRANSPORTS:
        async with _client(name, server.url) as client:
            response = await send(client)
            assert response.status_code == 200
            assert response.json() == {}
    assert _head_lines(server.heads[1]) == _head_lines(server.heads[0])


async def test_the_answer_reads_as_httpx_reads_it(serve: Callable[[str], Awaitable[Server]]) -> None:
    server = await serve("ok")
    answers = []
    for name in TRANSPORTS:
        async with _client(name, server.url) as client:
            answers.append(await client.get("/x"))
    via_httpx, via_aiohttp = answers
    assert via_aiohttp.status_code == via_httpx.status_code
    assert via_aiohttp.reason_phrase == via_httpx.reason_phrase
    assert via_aiohttp.http_version == via_httpx.http_version
    assert list(via_aiohttp.headers.multi_items()) == list(via_httpx.headers.multi_items())
    assert via_aiohttp.content == via_httpx.content


async def test_the_pool_keeps_one_connection_per_concurrent_call(
    serve: Callable[[str], Awaitable[Server]],
) -> None:
    server = await serve("ok")
    async with PMSHttpClient(base_url=server.url, vendor="test", limits=pool_limits(4)) as client:
        for _ in range(5):
            await asyncio.gather(*(client.request("GET", "/patients") for _ in range(4)))
    assert len(server.heads) == 20
    assert server.connections == 4  # opened once, kept alive, reused: no churn


RELAY_CALLS = [
    ("GET", "/api/patients/{id}", {"id": "a/b"}, {"q": "a/b c&d", "empty": ""}, None),
    ("GET", "/api/appointments", None, {"pageSize": 500, "ids": ["1", "2"]}, None),
    ("POST", "/api/patients", None, None, {"name": "n", "notes": "é"}),
    ("PUT", "/api/patients/{id}", {"id": "7"}, {"v": "2"}, {"name": "n"}),
]


@pytest.mark.parametrize(("method", "route", "ids", "params", "body"), RELAY_CALLS)
async def test_the_relay_client_sends_what_httpx_client_sends(
    serve: Callable[[str], Awaitable[Server]],
    method: str,
    route: str,
    ids: dict[str, str] | None,
    params: dict[str, object] | None,
    body: object,
) -> None:
    # The relay's client hands its requests to the transport itself, not through AsyncClient.send: the
    # server must see the same bytes as from httpx's client with the same defaults and headers.
    server = await serve("ok")
    defaults, headers = {"X-App": "relay"}, {"X-Req": "1", "Authorization": "Bearer t"}
    async with httpx.AsyncClient(
        base_url=server.url + "/v1", headers=defaults, transport=AiohttpTransport(limits=pool_limits(2))
    ) as client:
        await client.request(method, path(route, **(ids or {})), params=params, json=body, headers=headers)
    async with PMSHttpClient(
        base_url=server.url,
        vendor="test",
        path_prefix="/v1",
        default_headers=defaults,
        remaining=lambda: None,
    ) as relay:
        response = await relay.request(
            method, route, path_params=ids, params=params, json=body, headers=headers, write=method != "GET"
        )
    assert response.json() == {}
    assert response.request.url.path.startswith("/v1/api/")
    assert _head_lines(server.heads[1]) == _head_lines(server.heads[0])


async def test_behind_a_proxy_the_relay_client_sends_through_it(
    serve: Callable[[str], Awaitable[Server]], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = await serve("ok")  # answers whatever it is asked: enough to see the request reach it
    for name in ("HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    async with PMSHttpClient(base_url="http://pms.invalid", vendor="test", remaining=lambda: None) as relay:
        response = await relay.request("GET", "/patients/{id}", path_params={"id": "7"})
    assert response.status_code == 200
    assert proxy.heads[0].startswith(b"GET http://pms.invalid/patients/7 HTTP/1.1\r\n")


async def test_a_closed_relay_client_sends_nothing(serve: Callable[[str], Awaitable[Server]]) -> None:
    server = await serve("ok")
    relay = PMSHttpClient(base_url=server.url, vendor="test", remaining=lambda: None)
    await relay.request("GET", "/x")
    await relay.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await relay.request("GET", "/x")
    assert len(server.heads) == 1


def _server_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A TLS server context for 127.0.0.1 signed by a throwaway CA, and that CA's file."""
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, pkcs12

    files = make_tls_files(directory)
    key, cert, chain = pkcs12.load_key_and_certificates(
        files.broker_keystore.read_bytes(), files.broker_keystore_password.encode()
    )
    assert key is not None
    assert cert is not None
    pem = directory / "server.pem"
    pem.write_bytes(
        key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        + b"".join(c.public_bytes(Encoding.PEM) for c in [cert, *chain])
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pem)
    return context, files.ca


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_tls_is_verified_as_httpx_verifies(
    transport: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context, ca = _server_tls(tmp_path)
    server = Server("")
    listening = await asyncio.start_server(_behaviour("ok", server), "127.0.0.1", 0, ssl=context)
    url = f"https://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
    try:
        async with _client(transport, url) as client:  # the usual trust store: an unknown CA is refused
            with pytest.raises(httpx.ConnectError):
                await client.get("/x")
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # httpx's own way to trust another CA
        async with _client(transport, url) as client:
            assert (await client.get("/x")).status_code == 200
    finally:
        listening.close()
