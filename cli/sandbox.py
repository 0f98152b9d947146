"""``pms-relay sandbox``: run a vendor sandbox that speaks that vendor's dialect (see the README)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(
    help="Run a PMS sandbox that emulates a vendor's API, with switchable faults.", no_args_is_help=True
)

_FAULT_HELP = "A fault rule KIND[,key=value...], e.g. 'error,status=503,count=3' (repeatable)."


@app.command()
def dentrix(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8701,
    seed: Annotated[int, typer.Option(help="Seed of the data and of the faults.")] = 42,
    anchor: Annotated[
        str, typer.Option(help="Date the seeded schedule is built around (YYYY-MM-DD).")
    ] = "2026-03-02",
    fault: Annotated[list[str] | None, typer.Option(help=_FAULT_HELP)] = None,
    token_ttl: Annotated[int, typer.Option(help="Lifetime of access tokens, in seconds.")] = 3599,
    client_id: Annotated[str | None, typer.Option(help="Replace the first seeded client's id.")] = None,
    client_secret: Annotated[
        str | None, typer.Option(help="Replace the first seeded client's secret.")
    ] = None,
) -> None:
    """Serve the Dentrix Ascend sandbox until Ctrl-C."""
    from adapters.dentrix.sandbox import DentrixSandbox, SandboxConfig
    from adapters.sandbox import parse_fault_spec, serve

    try:
        config = SandboxConfig(
            seed=seed,
            anchor=date.fromisoformat(anchor),
            token_ttl_s=token_ttl,
            client_id=client_id,
            client_secret=client_secret,
            faults=tuple(parse_fault_spec(spec) for spec in fault or ()),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    sandbox = DentrixSandbox(config)
    for line in sandbox.banner(f"http://{host}:{port}"):
        typer.echo(line)
    serve(sandbox.app, host, port, on_listener=sandbox.attach_listener)


@app.command()
def eaglesoft(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8702,
    seed: Annotated[int, typer.Option(help="Seed of the data, the write delays and the faults.")] = 42,
    anchor: Annotated[
        str, typer.Option(help="Date the seeded schedule is built around (YYYY-MM-DD).")
    ] = "2026-03-02",
    fault: Annotated[
        list[str] | None,
        typer.Option(help=_FAULT_HELP + " Also 'write_failed,...' and 'write_stuck,pending_s=60,...'."),
    ] = None,
    version: Annotated[
        str, typer.Option(help="Eaglesoft version /system reports (writes need 18+).")
    ] = "21.20.05",
    session_ttl: Annotated[float, typer.Option(help="Lifetime of sessions, in seconds.")] = 3600.0,
    write_delay_ms: Annotated[
        str, typer.Option(help="Delay before an accepted write resolves, 'MIN-MAX' in milliseconds.")
    ] = "50-200",
) -> None:
    """Serve the Eaglesoft on-prem API sandbox until Ctrl-C."""
    from adapters.eaglesoft.sandbox import EaglesoftSandbox, SandboxConfig
    from adapters.eaglesoft.sandbox.admin import split_fault_specs
    from adapters.sandbox.runner import serve

    try:
        low, _, high = write_delay_ms.partition("-")
        shared, writes = split_fault_specs(list(fault or ()))
        config = SandboxConfig(
            seed=seed,
            anchor=date.fromisoformat(anchor),
            version=version,
            session_ttl_s=session_ttl,
            write_delay_ms=(float(low), float(high or low)),
            faults=tuple(shared),
            write_faults=tuple(writes),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    sandbox = EaglesoftSandbox(config)
    for line in sandbox.banner(f"http://{host}:{port}"):
        typer.echo(line)
    serve(sandbox.app, host, port, on_listener=sandbox.attach_listener)
