"""``pms-relay sandbox opendental``: serve the Open Dental sandbox in the foreground (options in the docstring
of :mod:`adapters.opendental.sandbox`)."""

from __future__ import annotations

from typing import Annotated

import typer

from adapters.opendental.sandbox.app import OpenDentalSandbox
from adapters.opendental.sandbox.config import SandboxConfig
from adapters.opendental.sandbox.seed import DEFAULT_VERSION
from adapters.sandbox.command import Anchor, Faults, Host, Port, anchor_date, run
from adapters.sandbox.faults import parse_fault_spec

__all__ = ["serve_opendental"]


def serve_opendental(
    host: Host = "127.0.0.1",
    port: Port = 8703,
    seed: Annotated[int, typer.Option(help="Seed of the data and of the faults.")] = 42,
    anchor: Anchor = None,
    fault: Faults = None,
    rate: Annotated[
        float, typer.Option(help="Requests per second each customer key may make (0: unthrottled).")
    ] = 1.0,
    gateway_timeout: Annotated[
        float, typer.Option(help="Seconds after which an unanswered request gets a 504.")
    ] = 60.0,
    version: Annotated[
        str, typer.Option(help="Open Dental version the ProgramVersion preference reports.")
    ] = (DEFAULT_VERSION),
) -> None:
    """Serve the Open Dental API sandbox until Ctrl-C."""

    def build() -> OpenDentalSandbox:
        config = SandboxConfig(
            seed=seed,
            anchor=anchor_date(anchor),
            rate_per_second=rate,
            gateway_timeout_s=gateway_timeout,
            version=version,
            faults=tuple(parse_fault_spec(spec) for spec in fault or ()),
        )
        return OpenDentalSandbox(config)

    run(build, host, port)
