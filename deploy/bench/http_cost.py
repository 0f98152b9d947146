"""What one PMS request costs the relay's process in CPU, by HTTP transport, side by side in one run.

A stub server (:mod:`deploy.bench.stub`, its own process) answers a fixed ~2 KB JSON page; each client
variant runs in a fresh process of its own, sends ``requests`` GETs at ``concurrency`` (16, as the bench's
practices run), reads every body, and reports its own CPU (``time.process_time``) per request after a
warm-up. Only the client's process is timed, so the server's cost is not in the figure.

Variants: httpx with its default transport (httpcore) and ``sniffio`` hidden
(``httpx-nosniffio``, as installed: httpcore then retries a failing ``import sniffio`` on every lock it sets up) or
present (``httpx-sniffio``), httpx over the ``httpx-aiohttp`` package's transport (``httpx-aiohttp``, when
installed: it is not a dependency) and over the relay's own (``httpx-relay``), and for reference
aiohttp alone (``aiohttp``) and a raw asyncio client (``raw``). ``client-*`` send through the relay's whole
:class:`adapters.http.PMSHttpClient` (rate limiter, tenacity, span, error mapping) over a transport.

    python -m deploy.bench.http_cost                   # every variant, 4,000 requests each
    python -m deploy.bench.http_cost --quick           # 1,000 requests each
    python -m deploy.bench.http_cost --variants httpx-nosniffio,httpx-relay --requests 8000 --repeats 5
    python -m deploy.bench.http_cost --extra DIR      # DIR holds sniffio (and httpx_aiohttp), not installed

The section also times the Avro body of a result, the old way and the compiled way, in the same process.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.abc
import importlib.machinery
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from deploy.bench.figures import Figure, render_summary
from deploy.bench.stats import median, spread
from deploy.bench.stub import Answer

__all__ = ["VARIANTS", "figures", "main", "measure", "page_answer"]

SECTION = "P1b HTTP"
_PATH = "/ascend-gateway/api/v1/appointments"
CONCURRENCY = 16
_WARMUP = 200


def page_answer(rows: int = 6) -> Answer:
    """A Dentrix page of appointments, ~2 KB of JSON as the bench's reads get."""
    row = {
        "id": "1000001",
        "patientId": "2000001",
        "providerId": "DDS1",
        "operatoryId": "OP-1",
        "start": "2026-12-02T09:00:00",
        "end": "2026-12-02T09:30:00",
        "status": "Scheduled",
        "reason": "Recall",
        "notes": "pms-relay ref=7f1c2b3a-0000-4000-8000-000000000001",
        "confirmed": True,
        "lastModified": "2026-11-30T16:21:05Z",
    }
    return Answer(200, {"data": [{**row, "id": str(1000001 + i)} for i in range(rows)]})


# -- the clients (each runs in a child process) -------------------------------------------------------------

Send = Callable[[], Awaitable[None]]


async def _httpx_default(url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    import httpx

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    client = httpx.AsyncClient(base_url=url, limits=limits)
    return _httpx_send(client), client.aclose


async def _httpx_relay(url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    import httpx

    from adapters.http.transport import AiohttpTransport

    transport = AiohttpTransport(limits=httpx.Limits(max_connections=CONCURRENCY))
    client = httpx.AsyncClient(base_url=url, transport=transport)
    return _httpx_send(client), client.aclose


async def _httpx_aiohttp_pkg(url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    import httpx
    from httpx_aiohttp import AiohttpTransport

    transport = AiohttpTransport(limits=httpx.Limits(max_connections=CONCURRENCY))
    client = httpx.AsyncClient(base_url=url, transport=transport)
    return _httpx_send(client), client.aclose


def _httpx_send(client: Any) -> Send:
    async def send() -> None:
        response = await client.get(_PATH, params={"filter": "", "pageSize": "500"})
        assert response.status_code == 200
        assert response.content

    return send


async def _aiohttp(url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    import aiohttp

    session = aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=CONCURRENCY))

    async def send() -> None:
        async with session.get(_PATH, params={"filter": "", "pageSize": "500"}) as response:
            assert response.status == 200
            assert await response.read()

    return send, session.close


async def _raw(url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    host, port = url.removeprefix("http://").split(":")
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(CONCURRENCY):
        idle.put_nowait(await asyncio.open_connection(host, int(port)))
    request = f"GET {_PATH}?filter=&pageSize=500 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()

    async def send() -> None:
        reader, writer = await idle.get()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        size = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        assert await reader.readexactly(size)
        idle.put_nowait((reader, writer))

    async def close() -> None:
        while not idle.empty():
            idle.get_nowait()[1].close()

    return send, close


async def _relay_client(url: str, transport_name: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    import httpx

    from adapters.http import PMSHttpClient
    from adapters.http.ratelimit import PracticeRateLimiter

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    transport: httpx.AsyncBaseTransport
    if transport_name == "relay":
        from adapters.http.transport import AiohttpTransport

        transport = AiohttpTransport(limits=limits)
    else:
        transport = httpx.AsyncHTTPTransport(limits=limits)
    client = PMSHttpClient(
        base_url=url,
        vendor="dentrix",
        limiter=PracticeRateLimiter(1e6, CONCURRENCY),
        limits=limits,
        transport=transport,
    )

    async def send() -> None:
        response = await client.request("GET", "/ascend-gateway/api/v1/appointments", params={"filter": ""})
        assert response.content

    return send, client.aclose


VARIANTS: dict[str, Callable[[str], Awaitable[tuple[Send, Callable[[], Awaitable[None]]]]]] = {
    "httpx-nosniffio": _httpx_default,
    "httpx-sniffio": _httpx_default,
    "httpx-aiohttp": _httpx_aiohttp_pkg,
    "httpx-relay": _httpx_relay,
    "aiohttp": _aiohttp,
    "raw": _raw,
    "client-httpx-nosniffio": lambda url: _relay_client(url, "httpx"),
    "client-relay": lambda url: _relay_client(url, "relay"),
}


class _SearchThenFail(importlib.abc.MetaPathFinder):
    """Makes ``sniffio`` unimportable at the cost a missing module has: the whole path is searched."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "sniffio":
            importlib.machinery.PathFinder.find_spec(name, path)
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None


def _arrange_sniffio(variant: str, extra: str | None) -> str:
    """Hide or provide sniffio for the variants that are about it; say which it was."""
    if "nosniffio" in variant:
        sys.meta_path.insert(0, _SearchThenFail())
        sys.modules.pop("sniffio", None)
    elif "sniffio" in variant and extra:
        sys.path.append(extra)  # only when it is not installed: the installed one is found first
    try:
        import sniffio  # noqa: F401
    except ImportError:
        return "absent"
    return "present"


async def _drive(variant: str, url: str, requests: int) -> dict[str, Any]:
    send, close = await VARIANTS[variant](url)
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with slots:
            await send()

    await asyncio.gather(*(one() for _ in range(_WARMUP)))
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(requests)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await close()
    return {"cpu_us": cpu / requests * 1e6, "wall_s": wall}


def _child(variant: str, url: str, requests: int, extra: str | None) -> None:
    sniffio = _arrange_sniffio(variant, extra)
    if variant == "httpx-sniffio" and sniffio == "absent":
        print(json.dumps({"missing": "sniffio"}))
        return
    try:
        result = asyncio.run(_drive(variant, url, requests))
    except ModuleNotFoundError as exc:  # httpx-aiohttp: measured when installed, not a dependency
        print(json.dumps({"missing": exc.name}))
        return
    print(json.dumps({**result, "sniffio": sniffio}))


# -- the parent: stub, children, figures --------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    variant: str
    cpu_us: float | None  # None: a package it needs is not installed
    note: str  # sniffio present/absent, or what is missing


def _start_stub(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    from deploy.local.ports import free_ports

    answers = workdir / "answers.json"
    page = page_answer()
    answers.write_text(
        json.dumps([{"method": "GET", "path": _PATH, "status": page.status, "body": page.body}])
    )
    port = free_ports("127.0.0.1", 1)[0]
    cmd = [sys.executable, "-m", "deploy.bench.stub", "--port", str(port), "--answers", str(answers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready", "stub did not start"
    return proc, f"http://127.0.0.1:{port}"


def measure(
    variants: Sequence[str], requests: int, extra: str | None = None, repeats: int = 1
) -> list[Measured]:
    """Each variant in its own process against one stub; CPU per request of the client process, the median
    of ``repeats`` rounds that take the variants in turn (a shared host's speed drifts within minutes)."""
    with tempfile.TemporaryDirectory() as tmp:
        stub, url = _start_stub(Path(tmp))
        try:
            rounds = [
                [_run_child(variant, url, requests, extra) for variant in variants] for _ in range(repeats)
            ]
        finally:
            stub.terminate()
            stub.wait()
    results = []
    for variant, found in zip(variants, zip(*rounds, strict=True), strict=True):
        if "missing" in found[0]:
            results.append(Measured(variant, None, f"{found[0]['missing']} not installed"))
            continue
        cpu = [f["cpu_us"] for f in found]
        note = f"sniffio {found[0]['sniffio']}" + (
            f", median of {repeats} ({spread(cpu, '{:.0f}')})" if repeats > 1 else ""
        )
        results.append(Measured(variant, median(cpu), note))
    return results


def _run_child(variant: str, url: str, requests: int, extra: str | None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "deploy.bench.http_cost", "--child", variant, "--url", url]
    cmd += ["--requests", str(requests)] + (["--extra", extra] if extra else [])
    out = subprocess.run(cmd, check=True, capture_output=True, env=os.environ).stdout
    found: dict[str, Any] = json.loads(out.splitlines()[-1])
    return found


# The relay's whole client over the chosen transport, against the budget P1b sets for HTTP (P1's + 0.3 ms
# a command): an HTTP command costs at least this much more than one answered in process.
_GOAL_US = 300.0


def _figure(m: Measured, detail: str) -> Figure:
    value = "n/a" if m.cpu_us is None else f"{m.cpu_us:.0f} us"
    if m.variant != "client-relay" or m.cpu_us is None:
        return Figure(SECTION, f"CPU/request {m.variant}", value, detail=f"{detail}, {m.note}")
    return Figure(
        SECTION,
        "CPU/request of the relay's HTTP client",
        value,
        goal=f"<= {_GOAL_US:.0f} us",
        met=m.cpu_us <= _GOAL_US,
        detail=f"{detail}, PMSHttpClient over the aiohttp transport, {m.note}",
    )


def _figures(found: Sequence[Measured], detail: str) -> list[Figure]:
    """A row per variant, and the relay's client over aiohttp alone when both ran: the host's speed moves
    both (2x between days here), their ratio much less."""
    rows = [_figure(m, detail) for m in found]
    cpu = {m.variant: m.cpu_us for m in found}
    client, floor = cpu.get("client-relay"), cpu.get("aiohttp")
    if client is not None and floor:
        rows.append(
            Figure(SECTION, "relay's HTTP client / aiohttp alone", f"{client / floor:.1f}x", detail=detail)
        )
    return rows


def encoding_figures(repeat: int) -> list[Figure]:
    """The Avro body of a result, old (model_dump, list copy, fastavro) and new (compiled), same run."""
    import io

    from fastavro import schemaless_writer

    from schemas import default_catalog
    from schemas.codec import _record
    from schemas.encoder import compile_writer
    from schemas.envelopes import AppointmentList, CommandType, PatientList
    from tests.fixtures.schemas.samples import APPOINTMENT, MINIMAL_PATIENT, PATIENT, result

    writer = default_catalog().current("Result")
    compiled = compile_writer(writer.parsed)

    def old(envelope: Any) -> bytes:
        buffer = io.BytesIO()
        schemaless_writer(buffer, writer.parsed, _record(envelope))
        return buffer.getvalue()

    cases = {
        "ValidateConnection": result(CommandType.VALIDATE_CONNECTION),
        "10 patients": result(CommandType.SEARCH_PATIENTS).model_copy(
            update={"payload": PatientList(patients=(PATIENT, MINIMAL_PATIENT) * 5)}
        ),
        "20 appointments": result(CommandType.LIST_APPOINTMENTS).model_copy(
            update={"payload": AppointmentList(appointments=(APPOINTMENT,) * 20)}
        ),
    }
    found = []
    for name, envelope in cases.items():
        before = _cpu_us(partial(old, envelope), repeat)
        after = _cpu_us(partial(compiled, envelope), repeat)
        found.append(
            Figure(
                "P1b encoding",
                f"Avro body of a result, {name}",
                f"{before:.0f} -> {after:.0f} us",
                detail=f"fastavro from dicts -> compiled from models, {repeat} each",
            )
        )
    return found


def _cpu_us(call: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(repeat):
            call()
        best = min(best, time.process_time() - start)
    return best / repeat * 1e6


def figures(quick: bool) -> list[Figure]:
    """The HTTP section of the performance run: CPU per request of each transport, and answer encoding."""
    requests = 1000 if quick else 4000
    found = measure(list(VARIANTS), requests, repeats=1 if quick else 3)
    detail = f"{requests} GETs of 2 KB, {CONCURRENCY} concurrent, load {os.getloadavg()[0]:.2f}"
    return _figures(found, detail) + encoding_figures(500 if quick else 2000)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--extra", help="a directory holding sniffio, for httpx-sniffio when not installed")
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--repeats", type=int, default=3, help="rounds over the variants; each figure their median"
    )
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.url, args.requests, args.extra)
        return
    requests = 1000 if args.quick else args.requests
    found = measure(args.variants.split(","), requests, args.extra, 1 if args.quick else args.repeats)
    detail = f"{requests} GETs of 2 KB, {CONCURRENCY} concurrent, load {os.getloadavg()[0]:.2f}"
    print(render_summary(_figures(found, detail) + encoding_figures(500 if args.quick else 2000)))


if __name__ == "__main__":
    main()
