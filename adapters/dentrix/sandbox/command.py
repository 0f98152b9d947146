"""``pms-relay sandbox dentrix``: serve the Ascend sandbox in the foreground (options in the docstring of
:mod:`adapters.dentrix.sandbox`)."""

from __future__ import annotations

from typing import Annotated

import typer

from adapters.dentrix.sandbox.app import DentrixSandbox, SandboxConfig
from adapters.sandbox.command import Anchor, Faults, Host, Port, anchor_date, run
from adapters.sandbox.faults import parse_fault_spec

__all__ = ["serve_dentrix"]


def serve_dentrix(
    host: Host = "127.0.0.1",
    port: Port = 8701,
    seed: Annotated[int, typer.Option(help="Seed of the data and of the faults.")] = 42,
    anchor: Anchor = None,
    fault: Faults = None,
    token_ttl: Annotated[int, typer.Option(help="Lifetime of access tokens, in seconds.")] = 3599,
    client_id: Annotated[str | None, typer.Option(help="Replace the first seeded client's id.")] = None,
    client_secret: Annotated[
        str | None, typer.Option(help="Replace the first seeded client's secret.")
    ] = None,
) -> None:
    """Serve the Dentrix Ascend sandbox until Ctrl-C."""

    def build() -> DentrixSandbox:
        config = SandboxConfig(
            seed=seed,
            anchor=anchor_date(anchor),
            token_ttl_s=token_ttl,
            client_id=client_id,
            client_secret=client_secret,
            faults=tuple(parse_fault_spec(spec) for spec in fault or ()),
        )
        return DentrixSandbox(config)

    run(build, host, port)
