"""``pms-relay kafka up|down|status``: a local single-node Kafka for development (see :mod:`deploy.local`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from deploy.local import DEFAULT_KAFKA_VERSION, LocalKafka, LocalKafkaError, ping

__all__ = ["app"]

app = typer.Typer(help="Run a local Apache Kafka (KRaft, single node) for development.", no_args_is_help=True)

_DataDir = Annotated[
    Path | None, typer.Option(help="Broker data dir [default: ~/.cache/pms-relay/local-kafka].")
]


@app.command()
def up(
    port: Annotated[int, typer.Option(help="Client (PLAINTEXT) port.")] = 9092,
    controller_port: Annotated[int, typer.Option(help="KRaft controller port.")] = 9093,
    data_dir: _DataDir = None,
    version: Annotated[str, typer.Option(help="Kafka version (from Maven Central).")] = DEFAULT_KAFKA_VERSION,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the broker to answer.")] = 90.0,
) -> None:
    """Start the broker (fetches the Kafka jars on first use). Does nothing if it is already running."""
    console = Console()
    kafka = LocalKafka(
        version=version,
        data_dir=data_dir,
        port=port,
        controller_port=controller_port,
        progress=lambda message: console.print(f"[yellow]{message}[/]"),
    )
    try:
        with console.status(f"starting Kafka {version}…"):
            started = kafka.up(wait=True, timeout=timeout)
    except LocalKafkaError as exc:
        console.print(f"[red]Kafka did not start:[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    state = "started" if started else "already running"
    console.print(f"[green]Kafka {state}[/] at [bold]{kafka.bootstrap_servers}[/]  (data: {kafka.data_dir})")


@app.command()
def down(
    data_dir: _DataDir = None,
    wipe: Annotated[bool, typer.Option(help="Also delete the data dir (all topics and offsets).")] = False,
) -> None:
    """Stop the broker."""
    console = Console()
    kafka = LocalKafka(data_dir=data_dir)
    was_running = kafka.down(wipe=wipe)
    console.print("[green]Kafka stopped[/]" if was_running else "Kafka was not running")
    if wipe:
        console.print(f"deleted {kafka.data_dir}")


@app.command()
def status(data_dir: _DataDir = None) -> None:
    """Show whether the broker runs and answers. Exits 1 when it is not running."""
    console = Console()
    state = LocalKafka(data_dir=data_dir).status()
    if not state.running or state.bootstrap_servers is None:
        console.print(f"Kafka is [bold]not running[/] (data: {state.data_dir})")
        raise typer.Exit(1)
    answers = "answers" if ping(state.bootstrap_servers, timeout=3.0) else "[red]does not answer yet[/]"
    console.print(
        f"Kafka {state.version} [green]running[/] pid {state.pid} at [bold]{state.bootstrap_servers}[/], "
        f"{answers}  (data: {state.data_dir})"
    )
