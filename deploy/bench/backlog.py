"""Benchmark per-practice admission: does one slow practice's backlog delay the other practices?

One practice's PMS answers in ``--slow-ms`` (its own sandbox), the others' in a few ms (another sandbox). The
slow practice gets a burst far beyond what it can serve; then commands for the fast practices are paced in.
The same load runs twice, side by side, on one broker: with the per-practice backlog bound
(``--practice-backlog``, the default 128) and with it effectively off (a bound larger than the burst), and a
small worker-wide bound (``--max-in-flight``) so the slow burst could fill it. It prints, for each, the fast
practices' command-to-answer latency and how many of them were answered in time. It asserts nothing.

    python -m deploy.bench.backlog                       # slow burst 1,200 at 1 s, fast 600 at 30/s
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from deploy.bench.cpu import cpu_seconds
from deploy.bench.load import build_commands, plan
from deploy.bench.relay_bench import _broker
from deploy.bench.rig import Rig
from deploy.bench.sandbox import SandboxProcess

__all__ = ["app"]

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@app.command()
def main(
    slow_commands: Annotated[int, typer.Option(help="Burst for the slow practice.")] = 1200,
    slow_ms: Annotated[float, typer.Option(help="The slow practice's PMS latency, ms.")] = 1000.0,
    fast_commands: Annotated[int, typer.Option(help="Commands for the fast practices, paced.")] = 600,
    fast_rate: Annotated[float, typer.Option(help="Pace of the fast commands, per second.")] = 30.0,
    fast_practices: Annotated[int, typer.Option(help="Fast practices.")] = 7,
    max_in_flight: Annotated[int, typer.Option(help="The worker-wide admission bound.")] = 512,
    backlog: Annotated[int, typer.Option(help="The per-practice backlog bound under test.")] = 128,
    timeout: Annotated[float, typer.Option(help="Seconds the fast commands may take in all.")] = 120.0,
    bootstrap_servers: Annotated[
        str | None, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Use this broker.")
    ] = None,
) -> None:
    root = Path(tempfile.mkdtemp(prefix="relay-backlog-"))
    console = Console()
    console.print(f"workdir={root} cpus={os.cpu_count()}")
    rows = []
    with _broker(bootstrap_servers) as (bootstrap, _pid):
        (root / "slow").mkdir()
        (root / "fast").mkdir()
        slow_sandbox = SandboxProcess(root / "slow").start()
        fast_sandbox = SandboxProcess(root / "fast").start()
        try:
            slow_sandbox.set_latency(slow_ms)
            fast_sandbox.set_latency(2)
            # "off" is a bound no practice reaches in this run: the worker-wide bound is all there is.
            for label, bound in (
                (f"backlog {backlog}", backlog),
                ("no per-practice bound", 10 * slow_commands),
            ):
                console.print(f"case {label}: starting")
                rows.append(
                    (
                        label,
                        _case(
                            root / label.replace(" ", "-"),
                            bootstrap,
                            slow_sandbox,
                            fast_sandbox,
                            bound=bound,
                            max_in_flight=max_in_flight,
                            slow_commands=slow_commands,
                            fast_commands=fast_commands,
                            fast_rate=fast_rate,
                            fast_practices=fast_practices,
                            timeout=timeout,
                        ),
                    )
                )
        finally:
            slow_sandbox.stop()
            fast_sandbox.stop()
    table = Table(
        title=f"fast practices' commands while one practice is slow ({slow_ms:g} ms, burst {slow_commands})"
    )
    for column in (
        "case",
        "fast answered",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "slow answered",
        "worker CPU s",
    ):
        table.add_column(column, justify="right")
    for label, figures in rows:
        table.add_row(label, *figures)
    console.print(table)


def _case(
    workdir: Path,
    bootstrap: str,
    slow_sandbox: SandboxProcess,
    fast_sandbox: SandboxProcess,
    *,
    bound: int,
    max_in_flight: int,
    slow_commands: int,
    fast_commands: int,
    fast_rate: float,
    fast_practices: int,
    timeout: float,
) -> tuple[str, ...]:
    slow_connection, secret = slow_sandbox.connection()
    fast_connection, _ = fast_sandbox.connection()
    zone = fast_sandbox.known.dst_location_zone
    fast_ids = [f"fast-{i:02d}" for i in range(fast_practices)]
    practices = {"slow": {"pms": "dentrix", "time_zone": zone, "connection": slow_connection}}
    practices |= {
        pid: {"pms": "dentrix", "time_zone": zone, "connection": fast_connection} for pid in fast_ids
    }
    registry = {
        "defaults": {"dentrix": {"rate_per_second": 1000, "max_concurrent": 4}},
        "practices": practices,
    }
    rig = Rig(
        bootstrap=bootstrap,
        workdir=workdir,
        registry=registry,
        env={"BENCH_DENTRIX_SECRET": secret},
        partitions=6,
        worker_args=("--practice-backlog", str(bound), "--max-in-flight", str(max_in_flight)),
    )
    rig.start(1)
    try:
        warmup = build_commands(plan(2 * (fast_practices + 1), ["slow", *fast_ids]), fast_sandbox.known)
        if not rig.wait_answers(list(rig.send(warmup)), timeout=120):
            raise RuntimeError(f"the warm-up was not answered; see {workdir}")
        before = sum(cpu_seconds(pid) or 0.0 for pid in rig.worker_pids)
        start = time.monotonic()
        slow = rig.send(build_commands(plan(slow_commands, ["slow"]), slow_sandbox.known))
        fast = rig.send(build_commands(plan(fast_commands, fast_ids), fast_sandbox.known), rate=fast_rate)
        rig.wait_answers(list(fast), timeout=timeout)
        after = sum(cpu_seconds(pid) or 0.0 for pid in rig.worker_pids)
        latencies = [(rig.arrived[c] - fast[c]) * 1000 for c in fast if c in rig.arrived]
        slow_done = rig.answered(list(slow))
        window = time.monotonic() - start
    finally:
        rig.stop()
    time.sleep(1)
    return (
        f"{len(latencies)}/{len(fast)}",
        f"{_percentile(latencies, 0.5):.0f}",
        f"{_percentile(latencies, 0.95):.0f}",
        f"{_percentile(latencies, 0.99):.0f}",
        f"{max(latencies, default=float('nan')):.0f}",
        f"{slow_done}/{len(slow)} in {window:.0f} s ({slow_done / window:.1f}/s)",
        f"{after - before:.1f}",
    )


if __name__ == "__main__":
    app()
