"""A sandbox on the command line: the options every ``pms-relay sandbox <vendor>`` shares, and serving a
built sandbox in the foreground.

Each vendor declares its command in ``adapters/<vendor>/sandbox/command.py`` with these options and its own
(the function's parameters are its options, its docstring its help) and names it in its ``VENDOR``;
``cli/sandbox.py`` mounts one command per vendor of :data:`adapters.vendors.VENDORS`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Protocol

import typer
from starlette.types import ASGIApp

from adapters.sandbox.runner import ListenerControl, serve

__all__ = ["FAULT_HELP", "Anchor", "Faults", "Host", "Port", "Servable", "anchor_date", "run"]

FAULT_HELP = "A fault rule KIND[,key=value...], e.g. 'error,status=503,count=3' (repeatable)."

Host = Annotated[str, typer.Option(help="Interface to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]
Anchor = Annotated[
    str | None,
    typer.Option(
        help="Date the seeded schedule is built around (YYYY-MM-DD; default: today). Fix it to reproduce a run."
    ),
]
Faults = Annotated[list[str] | None, typer.Option(help=FAULT_HELP)]


class Servable(Protocol):
    """What every vendor sandbox offers the runner."""

    @property
    def app(self) -> ASGIApp: ...

    def banner(self, base_url: str) -> list[str]: ...

    def attach_listener(self, listener: ListenerControl) -> None: ...


def anchor_date(text: str | None) -> date:
    """The ``--anchor`` option's day: today when not given, so this week's schedule has appointments."""
    return date.today() if text is None else date.fromisoformat(text)


def run(build: Callable[[], Servable], host: str, port: int) -> None:
    """Build the sandbox (a ``ValueError`` is a bad option), print its banner and serve until Ctrl-C."""
    try:
        sandbox = build()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    for line in sandbox.banner(f"http://{host}:{port}"):
        typer.echo(line)
    serve(sandbox.app, host, port, on_listener=sandbox.attach_listener)
