"""``pms-relay zipkin up|down|status``: a Zipkin server on this machine, in memory, for the workers' traces.

``up`` fetches Zipkin's jar from Maven Central once, starts it on a free loopback port, and prints the
variables that make a worker send its spans there. Its state (pid, port) is kept in
``~/.cache/pms-relay/zipkin/run/zipkin.json``; ``down`` stops exactly that process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

__all__ = ["app"]

app = typer.Typer(help="Run Zipkin (a tracing UI) on this machine.", no_args_is_help=True)


def _run_dir() -> Path:
    from ops.zipkin import zipkin_cache

    return zipkin_cache() / "run"


def _state() -> dict[str, Any] | None:
    try:
        return dict(json.loads((_run_dir() / "zipkin.json").read_text()))
    except (OSError, ValueError):
        return None


def _server(state: dict[str, Any]) -> Any:
    from ops.zipkin import ZipkinServer

    server = ZipkinServer(Path(state["jar"]), int(state["port"]), _run_dir())
    server.pid = int(state["pid"])
    return server


@app.command()
def up(
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: a free one].")] = None,
) -> None:
    """Start Zipkin (in memory, loopback) unless it already runs; print its URL and the OTEL_* variables."""
    from deploy.local.errors import LocalKafkaError
    from deploy.local.ports import free_ports
    from ops.zipkin import ZipkinFailed, ZipkinServer, fetch_zipkin

    console = Console(highlight=False)
    state = _state()
    if state is not None and _server(state).running():
        _print_running(console, _server(state))
        return
    try:
        jar = fetch_zipkin(progress=console.print)
        server = ZipkinServer(jar, port or free_ports("127.0.0.1", 1)[0], _run_dir(), die_with_parent=False)
        console.print(f"starting Zipkin on port {server.port}… (log {server.log})")
        server.start()
    except (LocalKafkaError, ZipkinFailed) as exc:
        Console(stderr=True).print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    (_run_dir() / "zipkin.json").write_text(
        json.dumps({"pid": server.pid, "port": server.port, "jar": str(jar)})
    )
    _print_running(console, server)


@app.command()
def down() -> None:
    """Stop the Zipkin that ``up`` started (its traces, kept in memory, go with it)."""
    state = _state()
    console = Console(highlight=False)
    if state is None or not _server(state).running():
        console.print("Zipkin is not running")
    else:
        _server(state).stop()
        console.print(f"stopped Zipkin (pid {state['pid']})")
    (_run_dir() / "zipkin.json").unlink(missing_ok=True)


@app.command()
def status() -> None:
    """Say whether Zipkin runs, and where; exit 1 when it does not."""
    state = _state()
    console = Console(highlight=False)
    if state is None or not _server(state).running():
        console.print("Zipkin is not running (start it with `pms-relay zipkin up`)")
        raise typer.Exit(1)
    _print_running(console, _server(state))


def _print_running(console: Console, server: Any) -> None:
    from ops.zipkin import spans_endpoint

    console.print(f"Zipkin runs at {server.url}/zipkin/ (pid {server.pid})")
    console.print("send a worker's spans there with:")
    console.print("  export OTEL_TRACES_EXPORTER=zipkin")
    console.print(f"  export OTEL_EXPORTER_ZIPKIN_ENDPOINT={spans_endpoint(server.url)}")
    console.print(f"  export PMS_RELAY_ZIPKIN_URL={server.url}   # for `pms-relay dashboard`'s trace links")
