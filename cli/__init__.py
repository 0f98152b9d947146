"""The ``pms-relay`` command line: one typer app, one sub-command group per module of this package."""

from __future__ import annotations

import importlib

import typer

__all__ = ["app", "main"]

app = typer.Typer(
    name="pms-relay",
    help="Relay dental PMS command events from Kafka to each practice's PMS, and answer them.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets or patient data
)

# Each module exposes ``app`` (a typer.Typer) and is mounted under its group name. Modules are imported
# here, not lazily, so ``--help`` lists every group.
_GROUPS = {
    "kafka": "cli.kafka",
    "topics": "cli.topics",
    "sandbox": "cli.sandbox",
    "config": "cli.config",
    "worker": "cli.worker",
    "send": "cli.send",
    "demo": "cli.demo",
    "dlq": "cli.dlq",
    "dashboard": "cli.dashboard",
    "zipkin": "cli.zipkin",
    "audit": "cli.audit",
    "alerts": "cli.alerts",
}

for _name, _module in _GROUPS.items():
    try:
        _sub = importlib.import_module(_module)
    except ModuleNotFoundError as exc:  # a group whose module is not written yet
        if exc.name != _module:
            raise
        continue
    app.add_typer(_sub.app, name=_name)


def main() -> None:
    app()
