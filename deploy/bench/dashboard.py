"""Benchmark the dashboard's page with a fleet: how long ``GET /`` takes to build and to load with N practices.

A made-up cluster (``ops.dashboard.sample``: N practices in the status contract's shape, one with an open
circuit, two workers, tiers, dead letters, lag) is served by the real app over uvicorn on loopback. It prints:

- render: the view (levels, sorting) and the HTML built in-process, no HTTP;
- GET / and GET /live over HTTP (what the refresh script fetches every few seconds), and /api/snapshot;
- browser: headless chromium loading the page to a DOM, minus chromium loading ``about:blank`` (its own
  start-up), when chromium is installed.

Times are medians and 95th percentiles over ``--runs``; nothing is asserted.

    python -m deploy.bench.dashboard                  # 500 practices
    python -m deploy.bench.dashboard --practices 2000
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import httpx
import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from deploy.local.ports import free_ports
from ops.dashboard import DashboardSettings, build_app
from ops.dashboard.page import Pages
from ops.dashboard.sample import FixedSource, sample_state
from ops.dashboard.state import ClusterState
from ops.dashboard.view import build_view

__all__ = ["app"]

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


def _timed(action: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _browser_ms(url: str, small_url: str, runs: int) -> dict[str, list[float]] | None:
    """Chromium loading the page to a DOM: minus about:blank (chromium's own start-up), and minus the same
    page with a handful of practices (the cost of the fleet's rows alone)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1366,900", "--dump-dom"]

    def load(target: str) -> None:
        subprocess.run([*flags, target], capture_output=True, timeout=120, check=True)

    blank = statistics.median(_timed(lambda: load("about:blank"), runs))
    small = statistics.median(_timed(lambda: load(small_url), runs))
    loads = _timed(lambda: load(url), runs)
    return {
        "browser: page to DOM, minus about:blank": [max(0.0, t - blank) for t in loads],
        "browser: page to DOM, minus a 12-practice page": [max(0.0, t - small) for t in loads],
    }


class _Served:
    def __init__(self, settings: DashboardSettings, state: ClusterState, now: datetime) -> None:
        app = build_app(settings, FixedSource(state), clock=lambda: now)
        self.url = f"http://127.0.0.1:{free_ports('127.0.0.1', 1)[0]}/"
        port = int(self.url.rsplit(":", 1)[1].strip("/"))
        self._server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> _Served:
        self._thread.start()
        while not self._server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)


@app.command()
def main(
    practices: Annotated[int, typer.Option(min=1, help="Practices in the made-up cluster.")] = 500,
    runs: Annotated[int, typer.Option(min=1, help="Timed runs of each measure.")] = 30,
    browser_runs: Annotated[int, typer.Option(min=0, help="Timed browser loads (0: skip).")] = 5,
) -> None:
    now = datetime.now(UTC)
    state = sample_state(practices, now)
    settings = DashboardSettings(zipkin_url="http://127.0.0.1:9411", prefix="demo.")
    pages = Pages(settings)
    rows: list[tuple[str, list[float], str]] = []
    render = _timed(lambda: pages.page(build_view(state.copy(), now, settings)), runs)
    rows.append(("render (view + HTML, in-process)", render, ""))

    with _Served(settings, state, now) as big, _Served(settings, sample_state(12, now), now) as small:
        with httpx.Client(base_url=big.url, timeout=30) as client:
            for path in ("", "live", "api/snapshot"):
                nbytes = len(client.get(path).content)
                times = _timed(lambda path=path: client.get(path).raise_for_status(), runs)  # type: ignore[misc]
                rows.append((f"GET /{path} over HTTP", times, f"{nbytes / 1024:.0f} KiB"))
        loaded = _browser_ms(big.url, small.url, browser_runs) if browser_runs else None
        rows += [(name, times, "") for name, times in (loaded or {}).items()]

    table = Table(title=f"dashboard with {practices} practices ({runs} runs; browser {browser_runs})")
    for column in ("measure", "median ms", "p95 ms", "size"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    for name, times, size in rows:
        table.add_row(name, f"{statistics.median(times):.1f}", f"{_p95(times):.1f}", size)
    Console().print(table)


if __name__ == "__main__":
    app()
