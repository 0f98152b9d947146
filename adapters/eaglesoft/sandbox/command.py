"""``pms-relay sandbox eaglesoft``: serve the Eaglesoft sandbox in the foreground (options in the docstring
of :mod:`adapters.eaglesoft.sandbox`)."""

from __future__ import annotations

from typing import Annotated

import typer

from adapters.eaglesoft.sandbox.admin import split_fault_specs
from adapters.eaglesoft.sandbox.app import EaglesoftSandbox
from adapters.eaglesoft.sandbox.config import SandboxConfig
from adapters.sandbox.command import FAULT_HELP, Anchor, Host, Port, anchor_date, run

__all__ = ["serve_eaglesoft"]

_FAULTS = FAULT_HELP + " Also 'write_failed,...' and 'write_stuck,pending_s=60,...'."


def serve_eaglesoft(
    host: Host = "127.0.0.1",
    port: Port = 8702,
    seed: Annotated[int, typer.Option(help="Seed of the data, the write delays and the faults.")] = 42,
    anchor: Anchor = None,
    fault: Annotated[list[str] | None, typer.Option(help=_FAULTS)] = None,
    version: Annotated[
        str, typer.Option(help="Eaglesoft version /system reports (writes need 18+).")
    ] = "21.20.05",
    session_ttl: Annotated[float, typer.Option(help="Lifetime of sessions, in seconds.")] = 3600.0,
    write_delay_ms: Annotated[
        str, typer.Option(help="Delay before an accepted write resolves, 'MIN-MAX' in milliseconds.")
    ] = "50-200",
) -> None:
    """Serve the Eaglesoft on-prem API sandbox until Ctrl-C."""

    def build() -> EaglesoftSandbox:
        low, _, high = write_delay_ms.partition("-")
        shared, writes = split_fault_specs(list(fault or ()))
        config = SandboxConfig(
            seed=seed,
            anchor=anchor_date(anchor),
            version=version,
            session_ttl_s=session_ttl,
            write_delay_ms=(float(low), float(high or low)),
            faults=tuple(shared),
            write_faults=tuple(writes),
        )
        return EaglesoftSandbox(config)

    run(build, host, port)
