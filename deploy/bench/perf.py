"""The performance run: every section of issue 14 in one command, one summary table at the end.

    python -m deploy.bench.perf                 # everything (about 20-30 min on 2 cores)
    python -m deploy.bench.perf --quick         # smaller bursts, fewer repeats (about 5 min)
    python -m deploy.bench.perf --only P1,P3    # some sections (P1 P2 P3 memory scaling P1b P4)

Sections: P1 overhead (``overhead.py``), P2 slow PMS (``slow_pms.py``), P3 latency (``latency.py``),
memory (``memory.py``), scaling (``scaling.py``); P1b HTTP cost (``http_cost.py``) and P4 fail-over and
recovery (``failover.py``) when those modules are there. It starts a throwaway broker (or uses
``KAFKA_BOOTSTRAP_SERVERS``), prints each section's rows as it finishes and the table at the end. It asserts
nothing: a goal not met is a row saying so, and a section that fails is a row saying why.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from deploy.bench import latency, memory, overhead, scaling, slow_pms
from deploy.bench.figures import Figure, render_summary
from deploy.bench.relay_bench import _broker
from deploy.bench.run import Context, loadavg

__all__ = ["SECTIONS", "app", "hook"]

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])

Section = Callable[[Context], list[Figure]]


def hook(module: str, section: str) -> Section:
    """A section another module provides (``figures(quick) -> list[Figure]``); a row when it is missing."""

    def run(ctx: Context) -> list[Figure]:
        try:
            found = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            return [Figure(section, "not run", "module missing", detail=module)]
        figures: list[Figure] = found.figures(ctx.quick)
        return figures

    return run


# In run order: P3 paces at half of P1's throughput.
SECTIONS: dict[str, tuple[str, Section]] = {
    "P1": (overhead.SECTION, overhead.figures),
    "P1b": ("P1b HTTP", hook("deploy.bench.http_cost", "P1b HTTP")),
    "P2": (slow_pms.SECTION, slow_pms.figures),
    "P3": (latency.SECTION, latency.figures),
    "P4": ("P4 fail-over", hook("deploy.bench.failover", "P4 fail-over")),
    "memory": (memory.SECTION, memory.figures),
    "scaling": (scaling.SECTION, scaling.figures),
}


def _chosen(only: str | None) -> list[str]:
    if not only:
        return list(SECTIONS)
    wanted = {part.strip().lower() for part in only.split(",") if part.strip()}
    unknown = wanted - {key.lower() for key in SECTIONS}
    if unknown:
        raise typer.BadParameter(f"unknown section(s) {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    return [key for key in SECTIONS if key.lower() in wanted]


def _run_section(key: str, ctx: Context) -> list[Figure]:
    title, section = SECTIONS[key]
    typer.echo(f"== {key}: starting (loadavg {loadavg()})")
    started = time.monotonic()
    try:
        rows = section(ctx)
    except Exception as exc:  # one broken section must not hide the others' figures
        traceback.print_exc()
        rows = [Figure(title, "failed", type(exc).__name__, detail=str(exc)[:120])]
    typer.echo(render_summary(rows))
    typer.echo(f"== {key}: {time.monotonic() - started:.0f} s")
    return rows


@app.command()
def main(
    quick: Annotated[bool, typer.Option("--quick", help="Smaller bursts and fewer repeats.")] = False,
    only: Annotated[str | None, typer.Option(help="Sections to run, comma-separated.")] = None,
    bootstrap_servers: Annotated[
        str | None, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Use this broker.")
    ] = None,
    workdir: Annotated[Path | None, typer.Option(help="Logs and registries (default: a temp dir).")] = None,
) -> None:
    """Run the chosen sections and print the summary table."""
    keys = _chosen(only)
    root = workdir or Path(tempfile.mkdtemp(prefix="relay-perf-"))
    typer.echo(f"workdir={root} cpus={os.cpu_count()} loadavg={loadavg()} quick={quick} sections={keys}")
    started = time.monotonic()
    figures: list[Figure] = []
    with _broker(bootstrap_servers) as (bootstrap, _pid):
        ctx = Context(bootstrap=bootstrap, workdir=root, quick=quick)
        for key in keys:
            figures += _run_section(key, ctx)
    typer.echo(f"\nSummary ({'quick' if quick else 'full'} run, {time.monotonic() - started:.0f} s, "
               f"loadavg {loadavg()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")  # fmt: skip
    typer.echo(render_summary(figures))
    for note in ctx.notes:
        typer.echo(f"note: {note}")


if __name__ == "__main__":
    app()
