"""``pms-relay audit``: account for every command of a time range, as a report directory an auditor can keep;
``pms-relay audit verify DIR`` checks a kept report against its manifest.

Reads ``pms.commands`` (and the horizon before the range, for ids only), the dead letters, results and errors
with a consumer that is assigned its partitions, joins no group and commits nothing (``streams/audit/``).
Exit codes: 0 the report is written; 3 it is written but the range starts before what a topic still retains
(data is gone); 2 a setting or the cluster is wrong; 1 ``verify`` found a difference.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from cli.options import BootstrapServers, TopicPrefix

__all__ = ["app"]

app = typer.Typer(
    help="Account for every command of a time range: a report with a manifest (and `verify DIR`).",
    invoke_without_command=True,
    no_args_is_help=True,
)

_SILENT = logging.getLogger("cli.audit.librdkafka")
_SILENT.propagate = False
_SILENT.addHandler(logging.NullHandler())

DATA_GONE_EXIT = 3


def _instant(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not ISO-8601, e.g. 2026-03-01T00:00Z") from exc
    if parsed.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no zone: add Z (UTC) or an offset")
    return parsed.astimezone(UTC)


def _duration(text: str) -> timedelta:
    from streams.topics import parse_retention

    try:
        milliseconds = parse_retention(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r}: use e.g. 2h, 90m, 600s") from exc
    if milliseconds < 0:
        raise typer.BadParameter("the horizon is a duration, e.g. 2h")
    return timedelta(milliseconds=milliseconds)


@app.callback()
def audit(
    ctx: typer.Context,
    from_: Annotated[str | None, typer.Option("--from", help="Range start, ISO-8601 with a zone.")] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Range end (exclusive), ISO-8601 with a zone.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="A new (or empty) directory for the report.")] = None,
    practice: Annotated[str | None, typer.Option(help="Only this practice's commands and answers.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or jsonl.")] = "csv",
    horizon: Annotated[
        str, typer.Option(help="How long after a command its answer may still come (retry tiers, deadlines).")
    ] = "2h",
    bootstrap_servers: BootstrapServers = "localhost:9092",
    prefix: TopicPrefix = "",
) -> None:
    """Read pms.commands, the results, errors and dead letters of a range; write one row per command, the
    exception lists (MISSING, PENDING, ORPHAN, DUPLICATE, UNDECODABLE), a summary and a manifest."""
    if ctx.invoked_subcommand is not None:
        return
    from streams.audit import Format

    if from_ is None or to is None or out is None:
        raise typer.BadParameter("give --from, --to and --out (or `audit verify DIR`)")
    try:
        chosen = Format(fmt)
    except ValueError as exc:
        raise typer.BadParameter(f"--format {fmt!r}: csv, parquet or jsonl") from exc
    code = run_audit(
        start=_instant(from_),
        end=_instant(to),
        horizon=_duration(horizon),
        out=out,
        fmt=chosen,
        practice=practice,
        bootstrap_servers=bootstrap_servers,
        prefix=prefix,
    )
    raise typer.Exit(code)


@app.command()
def verify(directory: Annotated[Path, typer.Argument(help="A report directory.")]) -> None:
    """Check a report against its manifest: every file present, of its size and sha256, and no other."""
    from streams.audit import verify as check

    problems = check(directory)
    console = Console()
    for problem in problems:
        console.print(Text(f"✗ {problem}", style="red"))
    if problems:
        raise typer.Exit(1)
    console.print(Text(f"✓ {directory}: every file matches its manifest", style="green"))


def run_audit(
    *,
    start: datetime,
    end: datetime,
    horizon: timedelta,
    out: Path,
    fmt: Any,
    practice: str | None,
    bootstrap_servers: str,
    prefix: str,
    now: datetime | None = None,
) -> int:
    """The audit as the command runs it, as of ``now`` (the clock by default); returns the exit code."""
    from schemas import default_catalog
    from streams.audit import AuditWindow, build_report, write_archive
    from streams.topics import TopicNames

    try:
        window = AuditWindow.of(start, end, horizon, now or datetime.now(UTC))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise typer.BadParameter(f"{out} is not an empty directory: a report goes into a new one")
    topics, registry = TopicNames(prefix=prefix), default_catalog()
    found, reading = _read(_connect(bootstrap_servers), topics, window, registry, practice)
    report = build_report(found, window, topics.commands)
    archive = write_archive(
        report, found, window, directory=out, fmt=fmt, practice=practice, registry=registry, reading=reading
    )
    _print_summary(Console(), report.summary, archive, reading["events"], reading["seconds"])
    return DATA_GONE_EXIT if archive.data_gone else 0


def _read(
    kafka: Any, topics: Any, window: Any, registry: Any, practice: str | None
) -> tuple[Any, dict[str, Any]]:
    """Plan and read the range with a progress bar; the findings, and how the reading went."""
    from confluent_kafka import Consumer

    from streams.audit import RangeReader, Replay, consumer_config

    consumer = Consumer(consumer_config(kafka.confluent(logger=_SILENT)))
    try:
        replay = Replay(RangeReader(consumer), topics, window, registry, practice)
        try:
            plan = replay.plan()
        except LookupError as exc:
            raise typer.BadParameter(str(exc)) from exc
        started, cpu = time.monotonic(), time.process_time()
        with _progress(Console(stderr=True)) as progress:
            task = progress.add_task("reading", total=plan.events)
            found = replay.read(plan, lambda n: progress.advance(task, n))
        seconds, cpu = time.monotonic() - started, time.process_time() - cpu
    finally:
        consumer.close()
    return found, {
        "events": plan.events,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "events_per_second": round(plan.events / seconds) if seconds > 0 else None,
    }


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "- events/s", style="cyan")


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _print_summary(
    console: Console, summary: dict[str, Any], archive: Any, events: int, seconds: float
) -> None:
    complete = summary["completeness"]
    table = Table(
        title=f"audit {summary['range']['from']} → {summary['range']['to']}"
        if "range" in summary
        else "audit"
    )
    table.add_column("")
    table.add_column("commands", justify="right")
    for outcome, count in summary["by_outcome"].items():
        table.add_row(outcome, f"{count:,}")
    table.add_section()
    for name, count in summary["exceptions"].items():
        table.add_row(name.upper(), f"{count:,}", style="yellow" if count else None)
    table.add_section()
    table.add_row("completeness", f"{complete['answered']:,} / {complete['of']:,} ({complete['ratio']:.4%})")
    console.print(table)
    if summary["by_code"]:
        console.print("codes: " + ", ".join(f"{code} {n:,}" for code, n in summary["by_code"].items()))
    rate = events / seconds if seconds > 0 else 0.0
    console.print(
        f"read {events:,} events in {seconds:.1f} s ({rate:,.0f} events/s); report in {archive.directory}"
    )
    if archive.lookback_truncated:
        console.print(
            "[yellow]the lookback before the range is partly deleted: an answer near the start may be "
            "listed as an ORPHAN though its command was sent before the range[/]"
        )
    if archive.data_gone:
        gone = "\n".join(
            f"{r.topic} partition {r.partition}: offsets before {r.low} are deleted"
            for r in archive.data_gone
        )
        console.print(
            Panel(
                Text(
                    "DATA GONE: the range begins before the earliest offset still retained.\n"
                    f"{gone}\nThis report cannot account for what was deleted; it is incomplete.",
                    style="bold red",
                ),
                title="INCOMPLETE",
                border_style="red",
            )
        )


def _connect(bootstrap_servers: str) -> Any:
    """The Kafka settings, once the cluster has let us in; exit 2 naming the setting otherwise."""
    from streams.kafka_access import KafkaAccessError, check_access
    from streams.kafka_settings import KafkaSettings, KafkaSettingsError

    try:
        kafka = KafkaSettings.from_env(bootstrap_servers=bootstrap_servers)
        check_access(kafka)
    except (KafkaSettingsError, KafkaAccessError) as exc:
        Console(stderr=True).print(Text(str(exc), style="red"))
        raise typer.Exit(2) from exc
    return kafka
