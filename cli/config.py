"""``pms-relay config check``: validate the practice registry, and optionally reach every practice's PMS."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["app"]

app = typer.Typer(help="Check the practice registry.", no_args_is_help=True)


@app.command()
def check(
    config: Annotated[Path, typer.Option("--config", "-c", help="Practice registry (YAML).")] = Path(
        "practices.yaml"
    ),
    connect: Annotated[
        bool, typer.Option(help="Also run validate_connection against every practice.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds allowed per practice with --connect.")] = 15.0,
) -> None:
    """Validate the registry file; errors name the practice and the field. Secrets are never printed."""
    from streams.registry import RegistryError, load_registry

    console = Console()
    try:
        registry = load_registry(config)
    except RegistryError as exc:
        console.print(f"[red]invalid registry:[/] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    statuses = asyncio.run(_connect_all(registry, timeout)) if connect else {}
    table = Table(title=f"{len(registry)} practices in {config}")
    for column in ("practice", "pms", "time zone", "rate/s", "concurrent", "circuit"):
        table.add_column(column)
    if connect:
        table.add_column("connection")
    for practice_id, practice in sorted(registry.practices.items()):
        row = [
            practice_id,
            practice.pms.lower(),
            practice.time_zone,
            f"{practice.rate_per_second:g}",
            str(practice.max_concurrent),
            f"{practice.circuit.fail_max} fails / {practice.circuit.reset_timeout_seconds:g}s",
        ]
        if connect:
            row.append(statuses[practice_id])
        table.add_row(*row)
    console.print(table)
    if connect and any(not status.startswith("[green]") for status in statuses.values()):
        raise typer.Exit(1)


async def _connect_all(registry: object, per_practice_seconds: float) -> dict[str, str]:
    from adapters.deadline import deadline_scope
    from adapters.errors import PMSError
    from adapters.vendors import make_adapter
    from streams.registry import Registry

    assert isinstance(registry, Registry)

    async def one(practice_id: str) -> tuple[str, str]:
        practice = registry.practices[practice_id]
        adapter = make_adapter(practice.pms, practice.connection)
        try:
            with deadline_scope(seconds=per_practice_seconds):
                status = await adapter.validate_connection()
        except PMSError as exc:
            return practice_id, f"[red]{exc.code.value}[/] {exc.message}"
        finally:
            await adapter.close()
        version = f" v{status.version}" if status.version else ""
        writes = "writable" if status.writable else "read-only"
        colour = "green" if status.ok else "red"
        return practice_id, f"[{colour}]{'ok' if status.ok else 'failing'}[/]{version}, {writes}"

    results = await asyncio.gather(*(one(practice_id) for practice_id in registry.practices))
    return dict(results)
