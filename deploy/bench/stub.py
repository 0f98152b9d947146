"""A PMS stub that costs almost nothing: a raw asyncio HTTP/1.1 server answering fixed JSON by path.

The sandboxes validate, filter, page and store, which is the point of them and costs milliseconds a request;
a benchmark of the client's own cost needs a server that only answers. This one parses the request line and
``Content-Length``, reads the body, and writes a response prepared at start-up, on a kept-alive connection.
It knows nothing of a vendor: the caller names the answers (:class:`Answer`), e.g. a Dentrix page of
appointments at ``/ascend-gateway/api/v1/appointments``. Paths match by longest prefix, the query ignored.

Run it as a subprocess (``python -m deploy.bench.stub --port N --answers FILE``) so its CPU is not the
client's: the bench times the client's process alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Answer", "StubProtocol", "load_answers", "main", "render", "serve"]

_HEAD_END = b"\r\n\r\n"
_REASONS = {200: "OK", 201: "Created", 404: "Not Found"}


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # JSON-serialisable


def render(answer: Answer) -> bytes:
    """The whole HTTP/1.1 response, as sent."""
    body = json.dumps(answer.body, separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {answer.status} {_REASONS.get(answer.status, 'OK')}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


_NOT_FOUND = render(Answer(404, {"error": "no stub answer for this path"}))


class StubProtocol(asyncio.Protocol):
    """One connection: requests in, prepared responses out, in order (pipelining works, unused here)."""

    def __init__(self, routes: list[tuple[bytes, bytes, bytes]]) -> None:
        self._routes = routes  # (method, path prefix, response), longest prefix first
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (answer := self._next()) is not None:
            assert self._transport is not None
            self._transport.write(answer)

    def _next(self) -> bytes | None:
        end = self._buffer.find(_HEAD_END)
        if end < 0:
            return None
        head = self._buffer[:end]
        size = _content_length(head)
        if len(self._buffer) < end + 4 + size:
            return None
        self._buffer = self._buffer[end + 4 + size :]
        method, _, rest = head.partition(b" ")
        target = rest.partition(b" ")[0].partition(b"?")[0]
        return next(
            (resp for m, prefix, resp in self._routes if m == method and target.startswith(prefix)),
            _NOT_FOUND,
        )


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def _routes(answers: Mapping[tuple[str, str], Answer]) -> list[tuple[bytes, bytes, bytes]]:
    routes = [(m.encode(), p.encode(), render(a)) for (m, p), a in answers.items()]
    return sorted(routes, key=lambda route: -len(route[1]))


async def serve(
    answers: Mapping[tuple[str, str], Answer], host: str = "127.0.0.1", port: int = 0
) -> asyncio.Server:
    """Start serving ``answers`` (``(method, path prefix) -> Answer``); the caller closes the server."""
    routes = _routes(answers)
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: StubProtocol(routes), host, port)


def load_answers(path: Path) -> dict[tuple[str, str], Answer]:
    """Answers from a JSON file: ``[{"method": "GET", "path": "/x", "status": 200, "body": …}, …]``."""
    return {
        (item["method"], item["path"]): Answer(item["status"], item["body"])
        for item in json.loads(path.read_text())
    }


async def _run(answers: Mapping[tuple[str, str], Answer], port: int) -> None:
    server = await serve(answers, port=port)
    async with server:
        print("ready", flush=True)  # the parent waits for this line
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--answers", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(_run(load_answers(args.answers), args.port))


if __name__ == "__main__":
    main()
