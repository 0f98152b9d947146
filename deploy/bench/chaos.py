"""The long chaos run: thousands of commands through the real system under faults on both sandboxes, with
malformed input, and every worker SIGKILLed once (at different times) and restarted. It proves the guarantees
from outside the workers (``tests/chaos/verdict.py``) and measures each kill's recovery and the workers' CPU.

    python -m deploy.bench.chaos                              # 3,000 commands, 2 workers, kills at 30% and 65%
    python -m deploy.bench.chaos --commands 200 --kills 0.5   # a quick one

It starts and stops everything itself on loopback: a throwaway Kafka on free ports (``deploy/local``), the
Dentrix and Eaglesoft sandboxes (in this process, as the e2e tests run them), the workers. Every wait is
bounded. Exit code 1 when anything was lost, answered twice, written twice or applied without a result.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tests.chaos import ChaosConfig, ChaosResult, ChaosRun, describe
from tests.chaos.report import seconds
from tests.chaos.verdict import (
    APPLIED_UNANSWERED,
    DOUBLE_OUTCOME,
    DOUBLE_WRITE,
    LOST,
    MALFORMED,
    PHANTOM,
    STRAY,
    UNDECODABLE,
    UNDELIVERED,
)
from tests.contract.dentrix_harness import DentrixHarness
from tests.contract.eaglesoft_harness import EaglesoftHarness

__all__ = ["app"]

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])
_BARS = " ▁▂▃▄▅▆▇█"


@app.command()
def main(
    commands: Annotated[int, typer.Option(help="Valid commands to send.")] = 3000,
    workers: Annotated[int, typer.Option(help="Workers running at once.")] = 2,
    kills: Annotated[
        str,
        typer.Option(help="SIGKILL moments, as shares of the workload sent; the n-th kill hits worker n."),
    ] = "0.3,0.65",
    seed: Annotated[int, typer.Option(help="Seed of the workload and of the sandboxes' faults.")] = 1,
    malformed: Annotated[int, typer.Option(help="Malformed messages mixed in.")] = 60,
    rate: Annotated[float, typer.Option(help="Messages sent per second.")] = 30.0,
    dentrix_practices: Annotated[int, typer.Option(help="Dentrix practices (up to 4).")] = 4,
    eaglesoft_practices: Annotated[int, typer.Option(help="Eaglesoft practices (up to 4).")] = 4,
    partitions: Annotated[int, typer.Option(help="Partitions of pms.commands.")] = 6,
    answer_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for every answer after sending.")
    ] = 300.0,
    reconcile_grace: Annotated[
        float,
        typer.Option(help="The workers' --reconcile-grace (keep it above the 30 s Eaglesoft write wait)."),
    ] = 35.0,
    bootstrap_servers: Annotated[
        str | None, typer.Option(help="Use this broker instead of starting one (loopback expected).")
    ] = None,
    workdir: Annotated[
        Path | None, typer.Option(help="Worker logs and registry (default: a temp dir).")
    ] = None,
) -> None:
    """Run one chaos run and print its figures; exit 1 on any broken guarantee."""
    shares = tuple(float(part) for part in kills.split(",") if part.strip())
    if any(not 0.0 <= share <= 1.0 for share in shares):
        raise typer.BadParameter("kill moments are shares of the workload, within [0, 1]")
    config = ChaosConfig(
        commands=commands,
        malformed=malformed,
        workers=workers,
        kills=shares,
        seed=seed,
        send_rate=rate,
        partitions=partitions,
        dentrix_practices=dentrix_practices,
        eaglesoft_practices=eaglesoft_practices,
        answer_timeout=answer_timeout,
        reconcile_grace=reconcile_grace,
    )
    root = workdir or Path(tempfile.mkdtemp(prefix="relay-chaos-"))
    root.mkdir(parents=True, exist_ok=True)
    console = Console()
    if not console.is_terminal:  # a log file or a pipe: wide enough for the tables on one line each
        console = Console(width=170)
    console.print(f"workdir={root} cpus={os.cpu_count()} loadavg={_loadavg()}")
    began = time.monotonic()
    with _broker(bootstrap_servers, console) as bootstrap, _sandboxes() as (dentrix, eaglesoft):
        run = ChaosRun(
            config,
            bootstrap=bootstrap,
            workdir=root,
            dentrix=dentrix,
            eaglesoft=eaglesoft,
            progress=lambda line: console.print(f"[dim]{time.monotonic() - began:6.1f}s[/] {line}"),
        )
        result = run.run()
    console.print(_summary(result, time.monotonic() - began))
    if result.kills:
        console.print(_kills(result))
    console.print(f"first answers per second: {_sparkline(result.timeline)}")
    console.print(describe(result), markup=False, highlight=False)
    sys.exit(0 if result.verdict.ok else 1)


def _summary(result: ChaosResult, total_s: float) -> Table:
    v = result.verdict
    table = Table(title=f"chaos run, seed {result.config.seed}", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    cpu = result.worker_cpu_s
    rows = [
        ("commands sent", str(v.commands - v.count(UNDELIVERED))),
        ("answered", str(v.answered)),
        ("lost", str(v.count(LOST))),
        ("double outcomes", str(v.count(DOUBLE_OUTCOME))),
        ("double writes", str(v.count(DOUBLE_WRITE))),
        ("applied writes not answered with a result", str(v.count(APPLIED_UNANSWERED))),
        ("results with nothing applied", str(v.count(PHANTOM))),
        ("writes applied", str(v.writes_applied)),
        ("malformed answered VALIDATION", f"{v.malformed_answered}/{v.malformed}"),
        ("malformed not answered VALIDATION", str(v.count(MALFORMED))),
        ("replays (same ce_id, same outcome)", f"{v.replays} ({v.identical_replays} byte-identical)"),
        ("stray / undecodable answers", f"{v.count(STRAY)} / {v.count(UNDECODABLE)}"),
        ("dead letters", str(result.dead_letters)),
        ("send phase", seconds(result.send_s)),
        ("first send to last first answer", seconds(result.answered_s)),
        ("wall time, broker and sandboxes included", seconds(total_s)),
        ("worker CPU seconds", "-" if cpu is None else f"{cpu:.1f}"),
        ("worker CPU per command", "-" if cpu is None else f"{cpu / max(1, v.commands) * 1000:.1f} ms"),
        ("verdict", "[green]PASS[/]" if v.ok else f"[red]FAIL ({len(v.problems)} problems)[/]"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _kills(result: ChaosResult) -> Table:
    table = Table(title="SIGKILLs and recovery (seconds from the kill)")
    for column in ("kill", "worker", "at", "first answer", "stalled partitions", "all partitions answering",
                   "rate back (>= half)", "rate before", "replacement ready"):  # fmt: skip
        table.add_column(column, justify="right")
    for number, kill in enumerate(result.kills, start=1):
        r = kill.recovery
        table.add_row(
            str(number),
            f"{kill.worker} (slot {kill.slot})",
            f"+{kill.at - result.first_send:.1f}s",
            seconds(r.first_answer_s if r else None),
            str(list(r.stalled)) if r else "-",
            seconds(r.flowing_s if r else None),
            seconds(r.rate_back_s if r else None),
            f"{r.rate_before:.0f}/s" if r else "-",
            seconds(kill.ready_after_s),
        )
    return table


def _sparkline(counts: list[int]) -> str:
    top = max(counts, default=0)
    if top == 0:
        return "-"
    return "".join(_BARS[round(c / top * (len(_BARS) - 1))] for c in counts) + f" (max {top}/s)"


@contextmanager
def _broker(bootstrap: str | None, console: Console) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    from deploy.local import start_ephemeral

    console.print("starting a throwaway Kafka on free loopback ports")
    kafka = start_ephemeral()
    try:
        yield kafka.bootstrap_servers
    finally:
        kafka.down(wipe=True)


@contextmanager
def _sandboxes() -> Iterator[tuple[DentrixHarness, EaglesoftHarness]]:
    dentrix, eaglesoft = DentrixHarness(), EaglesoftHarness()
    dentrix.start()
    try:
        eaglesoft.start()
        try:
            yield dentrix, eaglesoft
        finally:
            eaglesoft.stop()
    finally:
        dentrix.stop()


def _loadavg() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    app()
