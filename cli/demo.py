"""``pms-relay demo``: start everything on this machine and drive a receptionist's scenario through it.

Exit codes: 0 the scenario went as expected (results where it should succeed, the right errors where faults
were injected); 1 it did not; 2 the system could not start; 130 interrupted. Whatever happens, every process
the demo started is stopped before it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:  # imported when the command runs: `pms-relay --help` stays quick
    from opentelemetry.sdk.trace import TracerProvider

    from deploy.demo import DemoOptions, DemoSystem, Reporter

__all__ = ["app"]

app = typer.Typer(
    help="Run the whole system locally and drive a receptionist's scenario.", invoke_without_command=True
)


@app.callback()
def demo(
    workers: Annotated[int, typer.Option(min=1, max=4, help="Worker processes to start.")] = 1,
    faults: Annotated[
        bool,
        typer.Option("--faults/--no-faults", help="Also show retries, a circuit, a dead letter, a deadline."),
    ] = True,
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Leave everything up until Ctrl-C (try `pms-relay send`).")
    ] = False,
    work_dir: Annotated[
        Path | None, typer.Option(help="Where runs keep their logs (default: ~/.cache/pms-relay/demo).")
    ] = None,
    zipkin: Annotated[
        bool, typer.Option("--zipkin/--no-zipkin", help="Run Zipkin and trace every command into it.")
    ] = True,
) -> None:
    """Kafka, both sandboxes and the workers, for real; then commands through the platform client."""
    from deploy.demo import DemoOptions, default_work_root

    console = Console(highlight=False)
    options = DemoOptions(work_root=work_dir or default_work_root(), workers=workers, tracing=zipkin)
    raise typer.Exit(_run(options, console, faults=faults, keep_running=keep_running))


def _run(options: DemoOptions, console: Console, *, faults: bool, keep_running: bool) -> int:
    from deploy.demo import DemoSystem, Reporter
    from deploy.demo.children import ChildFailed
    from deploy.local import LocalKafkaError
    from streams.tracing import configure_tracing

    started = time.monotonic()
    _quiet_librdkafka()
    previous = signal.signal(signal.SIGTERM, _sigterm_as_sigint)
    system: DemoSystem | None = None
    tracing: TracerProvider | None = None
    try:
        system = DemoSystem(options, lambda text: console.print(f"  [yellow]•[/] {text}", highlight=False))
        console.rule("[bold]pms-relay demo: starting the system")
        console.print(f"  work dir {system.workdir}")
        try:
            system.start(options.workers)
        except (ChildFailed, LocalKafkaError, OSError) as exc:
            console.print(f"[red bold]the system did not start:[/] {exc}", highlight=False)
            return 2
        if system.zipkin_url is not None:
            tracing = configure_tracing(system.tracing_env())
        reporter = Reporter(console)
        with reporter:
            asyncio.run(_scenario(system, reporter, faults))
        console.rule("[bold]Summary")
        reporter.summary()
        console.rule("[bold]Where to look next")
        for line in system.pointers(running=keep_running):
            console.print(f"  {line}", highlight=False, soft_wrap=True)
        for what, url in reporter.traces:
            console.print(f"  trace:       {what}: {url}", highlight=False, soft_wrap=True)
        code = 0 if reporter.passed else 1
        verdict = "[green bold]demo OK[/]" if code == 0 else "[red bold]demo FAILED[/]"
        console.print(
            f"{verdict}: the scenario took {time.monotonic() - started:.0f}s in all", highlight=False
        )
        if keep_running:
            console.print(
                "[bold]everything keeps running: open the dashboard, send commands "
                "(`pms-relay send`, above); Ctrl-C stops it all[/]"
            )
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
        return code
    except KeyboardInterrupt:
        console.print("\n[yellow]interrupted[/]")
        return 130
    finally:
        if tracing is not None:
            tracing.shutdown()  # the demo's last spans, before Zipkin stops
        if system is not None:
            with _signals_ignored():
                console.print("  stopping the alerts service, workers, sandboxes and Kafka…")
                killed = system.stop()
                if killed:
                    console.print(f"  [yellow]had to kill:[/] {', '.join(killed)}")
                console.print(f"  all stopped; logs kept in {system.workdir}")
        signal.signal(signal.SIGTERM, previous)


async def _scenario(system: DemoSystem, reporter: Reporter, faults: bool) -> None:
    from adapters.dentrix.config import DentrixConfig
    from deploy.demo import ScenarioSettings, Target, run_scenario
    from deploy.demo.registry import DX_PRACTICE, ES_PRACTICE, OD_PRACTICE

    assert system.registry is not None
    assert system.watch is not None
    practices = system.registry.document["practices"]
    settings = ScenarioSettings(
        bootstrap_servers=system.bootstrap_servers,
        topics=system.topics,
        dentrix=Target(
            DX_PRACTICE, "Dentrix", practices[DX_PRACTICE]["time_zone"], system.sandboxes["dentrix"]
        ),
        eaglesoft=Target(
            ES_PRACTICE, "Eaglesoft", practices[ES_PRACTICE]["time_zone"], system.sandboxes["eaglesoft"]
        ),
        opendental=Target(
            OD_PRACTICE, "Open Dental", practices[OD_PRACTICE]["time_zone"], system.sandboxes["opendental"]
        ),
        faults=faults,
        zipkin_url=system.zipkin_url,
        in_call_attempts=int(DentrixConfig.model_fields["max_attempts"].default),  # the burst hits Dentrix
    )
    await run_scenario(settings, reporter, system.watch, system.hook)


def _quiet_librdkafka() -> None:
    # The client's librdkafka messages (a coordinator still loading, a retried PID) would interleave with
    # the demo's screen; the workers keep their own logs.
    for name in ("client.relay.librdkafka", "deploy.demo.librdkafka"):
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def _sigterm_as_sigint(signum: int, frame: FrameType | None) -> None:
    # One way out for both signals: KeyboardInterrupt, which unwinds asyncio.run and reaches the finally.
    signal.raise_signal(signal.SIGINT)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """Cleanup is bounded (terminate, wait, kill): a second Ctrl-C must not cut it short."""
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
