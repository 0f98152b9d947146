"""A running worker: its web port answers on loopback only and serves no table or router page, and every
line it writes to stderr, Faust's included, is one ``key=value`` line."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from streams.logs import WORKER_READY

pytestmark = pytest.mark.integration

_VALUE = r'(?:"(?:[^"\\]|\\.)*"|[^\s"=\\]+)'
_LINE = re.compile(rf'ts=\S+ level=[A-Z]+ logger=\S+ msg="(?:[^"\\]|\\.)*"(?: [A-Za-z_][\w.]*={_VALUE})*')


@dataclass
class RunningWorker:
    port: int
    stderr: Path

    def lines(self) -> list[str]:
        return self.stderr.read_text(encoding="utf-8").splitlines()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for(
    condition: Callable[[], bool], what: str, worker: subprocess.Popen[bytes], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if worker.poll() is not None:
            raise AssertionError(f"the worker exited ({worker.returncode}) before {what}")
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout}s")


@pytest.fixture(scope="module")
def worker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWorker]:
    """One worker for the module (2 shared cores): started with --web-port, stopped with SIGTERM."""
    folder = tmp_path_factory.mktemp("worker-web")
    registry = folder / "practices.yaml"
    registry.write_text("practices: {}\n", encoding="utf-8")
    running = RunningWorker(port=_free_port(), stderr=folder / "stderr.log")
    tag = uuid.uuid4().hex[:6]
    args = [sys.executable, "-m", "cli", "worker", "--config", str(registry), "--bootstrap-servers", kafka_bootstrap,
            "--prefix", f"ww{tag}.", "--app-id", f"ww-{tag}", "--partitions", "1", "--web-port", str(running.port)]  # fmt: skip
    with running.stderr.open("wb") as stderr:
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        _wait_for(lambda: any(WORKER_READY in line for line in running.lines()), "a Ready line", process, 90)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _get(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_health_page_answers_on_loopback(worker: RunningWorker) -> None:
    assert _get(worker.port, "/") == 200


@pytest.mark.parametrize("path", ["/table/", "/table/inbox/", "/table/inbox/some-key/", "/router/",
                                  "/router/inbox/", "/router/inbox/get/?key=x", "/graph/"])  # fmt: skip
def test_no_table_or_router_page_is_served(worker: RunningWorker, path: str) -> None:
    # The inbox holds answers, and answers carry patient data.
    assert _get(worker.port, path) == 404


def test_the_port_is_bound_to_loopback_only(worker: RunningWorker) -> None:
    listening = _listening_addresses(worker.port)
    assert listening == {"127.0.0.1"}


def test_every_stderr_line_is_key_value_faust_s_included(worker: RunningWorker) -> None:
    lines = worker.lines()
    assert [line for line in lines if not _LINE.fullmatch(line)] == []
    loggers = {name for line in lines for name in re.findall(r"^ts=\S+ level=\S+ logger=(\S+)", line)}
    assert {"cli.worker", "faust.worker", "faust.tables.recovery"} <= loggers
    assert any(line.endswith(WORKER_READY) for line in lines)


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on ``port`` (Linux's /proc/net/tcp and tcp6)."""
    found: set[str] = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        path = Path(table)
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(_address(address, family))
    if not found and not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp to read listening sockets from")
    return found


def _address(hex_address: str, family: socket.AddressFamily) -> str:
    """/proc writes each 32-bit word of the address in host order (little-endian here)."""
    raw = bytes.fromhex(hex_address)
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(family, raw)
