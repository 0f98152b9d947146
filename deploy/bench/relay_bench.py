"""Benchmark the stream processor: a burst of commands through broker, worker(s) and a Dentrix sandbox.

For each case (PMS latency x worker count) the bench makes fresh topics and a fresh consumer group, starts
the workers, warms every practice up (token, static cache, connections), then produces the burst as fast
as the client allows and times each command from its produce call to its answer's arrival at the
collector. It prints a table; it asserts nothing.

    python -m deploy.bench.relay_bench                      # 2,000 reads, 8 practices, PMS 0 and 200 ms
    python -m deploy.bench.relay_bench --latency-ms 200 --workers 1,2 --write-share 0.2
    python -m deploy.bench.relay_bench --latency-ms 0 --metrics on,off   # what metrics cost per command

``--metrics`` runs each case with the worker's metrics on (the default), ``off`` (``--no-metrics``), or
``bare`` (no metrics and no status records either); the table's ``worker ms/cmd`` compares them.

``KAFKA_BOOTSTRAP_SERVERS`` (or ``--bootstrap-servers``) uses an existing broker; otherwise a throwaway
broker on free ports is started and wiped at the end.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from deploy.bench.cpu import cpu_seconds
from deploy.bench.load import build_commands, plan
from deploy.bench.rig import Rig
from deploy.bench.sandbox import SandboxProcess
from deploy.bench.stats import CaseResult, render_table, summarize

__all__ = ["app"]

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


@dataclass(frozen=True)
class Load:
    commands: int
    practices: int
    write_share: float
    rate_per_second: float
    max_concurrent: int
    partitions: int
    timeout: float
    log_level: str
    profile: bool
    send_rate: float = 0.0  # commands/s; 0 sends the whole burst at once


# Worker flags of each --metrics mode.
_METRICS_MODES: dict[str, tuple[str, ...]] = {
    "on": (),
    "off": ("--no-metrics",),
    "bare": ("--no-metrics", "--status-interval", "0"),
}


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _floats(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


@app.command()
def main(
    commands: Annotated[int, typer.Option(help="Commands in the burst.")] = 2000,
    practices: Annotated[int, typer.Option(help="Dentrix practices (all on one sandbox).")] = 8,
    latency_ms: Annotated[str, typer.Option(help="PMS latencies to run, ms, comma-separated.")] = "0,200",
    workers: Annotated[str, typer.Option(help="Worker counts to run, comma-separated.")] = "1",
    write_share: Annotated[float, typer.Option(help="Share of writes (CreatePatient/Appointment).")] = 0.0,
    rate_per_second: Annotated[float, typer.Option(help="Registry rate limit per practice.")] = 1000.0,
    max_concurrent: Annotated[int, typer.Option(help="Registry concurrent calls per practice.")] = 16,
    partitions: Annotated[int, typer.Option(help="Partitions of pms.commands.")] = 6,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for a burst's answers.")] = 180.0,
    bootstrap_servers: Annotated[
        str | None, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Use this broker.")
    ] = None,
    workdir: Annotated[
        Path | None, typer.Option(help="Logs, registry, profiles (default: a temp dir).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="Workers' log level.")] = "info",
    profile: Annotated[
        bool, typer.Option(help="Run workers under pyinstrument (must be installed).")
    ] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures here.")] = None,
    metrics: Annotated[
        str, typer.Option(help="Metrics modes to run each case in, comma-separated: on, off, bare.")
    ] = "on",
    send_rate: Annotated[
        float,
        typer.Option(
            help="Pace the commands at this many per second (0: one burst); shows latency unqueued."
        ),
    ] = 0.0,
) -> None:
    """Run every (latency, workers) case and print one table."""
    load = Load(
        commands,
        practices,
        write_share,
        rate_per_second,
        max_concurrent,
        partitions,
        timeout,
        log_level,
        profile,
        send_rate,
    )
    root = workdir or Path(tempfile.mkdtemp(prefix="relay-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    typer.echo(f"workdir={root} cpus={os.cpu_count()} loadavg={_loadavg()}")
    modes = [part.strip() for part in metrics.split(",") if part.strip()]
    if unknown := [m for m in modes if m not in _METRICS_MODES]:
        raise typer.BadParameter(
            f"unknown metrics mode(s) {unknown}; use on, off, bare", param_hint="--metrics"
        )
    cases = [(lat, count, mode) for lat in _floats(latency_ms) for count in _ints(workers) for mode in modes]
    results: list[CaseResult] = []
    with _broker(bootstrap_servers) as (bootstrap, broker_pid):
        sandbox = SandboxProcess(root).start()
        try:
            pids: dict[str, Callable[[Rig], list[int]]] = {
                "worker": lambda rig: rig.worker_pids,
                "sandbox": lambda _: [sandbox.pid],
                "bench": lambda _: [os.getpid()],
            }
            if broker_pid is not None:
                pids["broker"] = lambda _: [broker_pid]
            for lat, count, mode in cases:
                name = f"{lat:g}ms-{count}w" + ("" if modes == ["on"] else f"-metrics-{mode}")
                typer.echo(f"case {name}: starting (loadavg={_loadavg()})")
                result = _run_case(
                    name, lat, count, load, sandbox, bootstrap, root / name, pids, _METRICS_MODES[mode]
                )
                results.append(result)
                typer.echo(render_table([result]))
        finally:
            sandbox.stop()
    typer.echo("\n" + render_table(results))
    typer.echo(
        "CPU: seconds used during the burst (% of one core over send-to-last-answer); "
        "worker ms/cmd: the workers' CPU per command answered."
    )
    if json_out is not None:
        json_out.write_text(json.dumps([_as_json(r) for r in results], indent=2), encoding="utf-8")


def _run_case(
    name: str,
    latency: float,
    workers: int,
    load: Load,
    sandbox: SandboxProcess,
    bootstrap: str,
    workdir: Path,
    pids: Mapping[str, Callable[[Rig], list[int]]],
    worker_args: tuple[str, ...] = (),
) -> CaseResult:
    sandbox.set_latency(latency)
    connection, secret = sandbox.connection()
    practice_ids = [f"bench-{i:02d}" for i in range(load.practices)]
    registry = {
        "defaults": {
            "dentrix": {"rate_per_second": load.rate_per_second, "max_concurrent": load.max_concurrent}
        },
        "practices": {
            pid: {"pms": "dentrix", "time_zone": sandbox.known.dst_location_zone, "connection": connection}
            for pid in practice_ids
        },
    }
    rig = Rig(
        bootstrap=bootstrap,
        workdir=workdir,
        registry=registry,
        env={"BENCH_DENTRIX_SECRET": secret},
        partitions=load.partitions,
        log_level=load.log_level,
        profile=load.profile,
        worker_args=worker_args,
    )
    rig.start(workers)
    try:
        warmup = build_commands(plan(2 * len(practice_ids), practice_ids), sandbox.known)
        if not rig.wait_answers(list(rig.send(warmup)), timeout=120):
            raise RuntimeError(f"case {name}: the warm-up was not answered; see {workdir}")
        burst = build_commands(plan(load.commands, practice_ids, load.write_share), sandbox.known)
        before = _cpu(pids, rig)
        start = time.monotonic()
        sent_at = rig.send(burst, rate=load.send_rate)
        complete = rig.wait_answers(list(sent_at), timeout=load.timeout)
        window = time.monotonic() - start
        after = _cpu(pids, rig)
    finally:
        rig.stop()
    if not complete:
        typer.echo(f"case {name}: only {rig.answered(list(sent_at))}/{len(sent_at)} answered in time")
    typer.echo(f"case {name}: partitions used by the burst {dict(sorted(rig.partitions_used.items()))}")
    return summarize(
        name,
        workers=workers,
        latency_ms=latency,
        sent_at=sent_at,
        answered_at=dict(rig.arrived),
        errors=len(rig.errors & set(sent_at)),
        cpu_s={role: after[role] - before[role] for role in before if role in after},
        cpu_window_s=window,
    )


def _cpu(pids: Mapping[str, Callable[[Rig], list[int]]], rig: Rig) -> dict[str, float]:
    totals: dict[str, float] = {}
    for role, of in pids.items():
        readings = [cpu_seconds(pid) for pid in of(rig)]
        if readings and all(r is not None for r in readings):
            totals[role] = sum(r for r in readings if r is not None)
    return totals


@contextmanager
def _broker(bootstrap: str | None) -> Iterator[tuple[str, int | None]]:
    if bootstrap:
        yield bootstrap, None
        return
    from deploy.local import start_ephemeral

    kafka = start_ephemeral()
    try:
        yield kafka.bootstrap_servers, kafka.status().pid
    finally:
        kafka.down(wipe=True)


def _loadavg() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _as_json(result: CaseResult) -> dict[str, Any]:
    return {**asdict(result), "throughput": result.throughput}


if __name__ == "__main__":
    app()
