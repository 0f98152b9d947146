"""Zipkin's server on this machine: in-memory storage, loopback only, a port of our choosing, its log in a
file. Started and stopped by the demo, by the tests, and by ``pms-relay zipkin up|down``.

The command line carries ``-Dpms-relay.zipkin.home=<its run dir>``, a marker that tells our server from any
other java process (a recycled pid never passes for it).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from deploy.local.java import find_java
from deploy.local.process import alive, die_with_parent_hook, stop

__all__ = ["ZipkinFailed", "ZipkinServer", "spans_endpoint", "trace_url"]

_HOST = "127.0.0.1"
# A small heap and the C1 compiler only: the traces of one machine's demo, started in seconds, not a fleet's.
_JVM = ("-Xms64m", "-Xmx384m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


class ZipkinFailed(RuntimeError):
    """Zipkin exited or did not answer on /health in time; the message ends with its log's tail."""


def trace_url(base_url: str, trace_id: str) -> str:
    """Where Zipkin's UI shows one trace."""
    return f"{base_url.rstrip('/')}/zipkin/traces/{trace_id}"


def spans_endpoint(base_url: str) -> str:
    """Where exporters post spans (``OTEL_EXPORTER_ZIPKIN_ENDPOINT``)."""
    return f"{base_url.rstrip('/')}/api/v2/spans"


class ZipkinServer:
    def __init__(self, jar: Path, port: int, run_dir: Path, *, die_with_parent: bool = True) -> None:
        self.jar = jar
        self.port = port
        self.run_dir = run_dir
        self.log = run_dir / "zipkin.log"
        self._die_with_parent = die_with_parent
        self._process: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://{_HOST}:{self.port}"

    @property
    def marker(self) -> str:
        return f"-Dpms-relay.zipkin.home={self.run_dir}"

    def command(self, java: Path) -> list[str]:
        return [
            str(java), *_JVM, self.marker, "-jar", str(self.jar),
            f"--armeria.ports[0].ip={_HOST}",
            f"--armeria.ports[0].port={self.port}",
            "--armeria.ports[0].protocols[0]=http",
        ]  # fmt: skip

    def start(self, timeout: float = 180.0, environ: Mapping[str, str] | None = None) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        env = {**(os.environ if environ is None else environ), "STORAGE_TYPE": "mem"}
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(
                self.command(find_java(env)),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.run_dir,
                start_new_session=True,  # Ctrl-C reaches its owner, which stops it in order
                preexec_fn=die_with_parent_hook() if self._die_with_parent else None,
            )
        self.pid = self._process.pid
        self._wait_healthy(timeout)

    def running(self) -> bool:
        return self.pid is not None and alive(self.pid, self.marker)

    def stop(self, timeout: float = 20.0) -> None:
        if self.pid is None:
            return
        stop(self.pid, self.marker, timeout, reap=self._process.poll if self._process else None)

    def healthy(self) -> bool:
        try:
            response = httpx.get(f"{self.url}/health", timeout=1.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.json().get("status") == "UP"

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self._process is not None and self._process.poll() is not None:
                raise ZipkinFailed(f"Zipkin exited (code {self._process.returncode}).\n{self._tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise ZipkinFailed(
                    f"Zipkin did not answer on {self.url}/health within {timeout:.0f}s.\n{self._tail()}"
                )
            time.sleep(0.25)

    def _tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.log} ---\n" + "\n".join(text.splitlines()[-lines:])
