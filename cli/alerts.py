"""``pms-relay alerts run|check|test``: evaluate the alert conditions and deliver them to the sinks
(see :mod:`ops.alerts` and README "Alerts").

Run as many instances as you like with the same ``--prefix``: one of them (the leader) sends.
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.options import BootstrapServers, TopicPrefix, WorkersAppId

if TYPE_CHECKING:
    from ops.alerts.settings import AlertSettings

__all__ = ["app"]

app = typer.Typer(help="Alerts: evaluate the conditions and notify webhooks, Slack, PagerDuty, Alertmanager.")

_Config = Annotated[Path, typer.Option("--config", "-c", help="The alerts file (YAML; README 'Alerts').")]
_DashboardUrl = Annotated[
    str | None,
    typer.Option(envvar="PMS_RELAY_DASHBOARD_URL", help="The dashboard's URL, linked from alerts."),
]
_ZipkinUrl = Annotated[
    str | None, typer.Option(envvar="PMS_RELAY_ZIPKIN_URL", help="Zipkin's base URL, for trace links.")
]


def _load(config: Path, **overrides: str | None) -> AlertSettings:
    from ops.alerts.settings import AlertSettingsError, load_settings

    try:
        return load_settings(config, **overrides)
    except AlertSettingsError as exc:
        Console(stderr=True).print(Text(f"invalid alerts config: {exc}", style="red"))
        raise typer.Exit(2) from exc


@app.command()
def run(
    config: _Config,
    bootstrap_servers: BootstrapServers = "localhost:9092",
    prefix: TopicPrefix = "",
    app_id: WorkersAppId = "pms-relay",
    instance_id: Annotated[
        str | None, typer.Option(envvar="PMS_RELAY_ALERTS_ID", help="This instance's id [default: host-pid].")
    ] = None,
    dashboard_url: _DashboardUrl = None,
    zipkin_url: _ZipkinUrl = None,
    session_timeout: Annotated[
        float, typer.Option(min=6, help="Seconds before a silent leader is replaced.")
    ] = 10.0,
    log_level: Annotated[str, typer.Option(envvar="PMS_RELAY_LOG_LEVEL", help="Log level.")] = "info",
) -> None:
    """Evaluate and deliver until SIGTERM or Ctrl-C."""
    from ops.alerts import AlertService
    from streams.kafka_access import KafkaAccessError, check_access
    from streams.kafka_settings import KafkaSettings, KafkaSettingsError
    from streams.logs import configure_logging

    settings = _load(config, dashboard_url=dashboard_url, zipkin_url=zipkin_url)
    try:  # a wrong password or certificate exits 2 at once, naming the variable, as every command does
        kafka = KafkaSettings.from_env(bootstrap_servers=bootstrap_servers)
        check_access(kafka)
    except (KafkaSettingsError, KafkaAccessError) as exc:
        Console(stderr=True).print(Text(str(exc), style="red"))
        raise typer.Exit(2) from exc
    configure_logging(log_level)
    service = AlertService(
        settings,
        kafka.confluent(),
        prefix=prefix,
        app_id=app_id,
        instance_id=instance_id,
        session_timeout_s=session_timeout,
    )

    def _stop(signum: int, frame: FrameType | None) -> None:
        service.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    service.run()


@app.command()
def check(config: _Config, dashboard_url: _DashboardUrl = None, zipkin_url: _ZipkinUrl = None) -> None:
    """Validate the file; print the effective thresholds, overrides, sinks (secrets masked) and silences."""
    from ops.alerts.settings import Condition

    settings = _load(config, dashboard_url=dashboard_url, zipkin_url=zipkin_url)
    console = Console(highlight=False)
    table = Table(title=f"thresholds in {config}")
    for column in ("setting", "default", *(f"pms {p}" for p in settings.by_pms), *settings.by_practice):
        table.add_column(column)
    base = settings.thresholds.model_dump()
    for name, value in base.items():
        overrides = [
            o.model_dump().get(name) for o in (*settings.by_pms.values(), *settings.by_practice.values())
        ]
        table.add_row(name, f"{value:g}", *("" if v is None else f"{v:g}" for v in overrides))
    console.print(table)
    conditions = Table(title="conditions")
    for column in ("condition", "severity", "enabled"):
        conditions.add_column(column)
    for condition in Condition:
        if condition is not Condition.TEST:
            enabled = "no" if condition in settings.disabled else "yes"
            conditions.add_row(condition.value, settings.severity(condition).value, enabled)
    console.print(conditions)
    sinks = Table(title=f"{len(settings.sinks)} sinks")
    for column in ("name", "kind", "where"):
        sinks.add_column(column)
    for sink in settings.sinks:
        url = sink.url if isinstance(sink.url, str) else "*** (secret)"
        signed = " (HMAC-signed)" if getattr(sink, "secret", None) is not None else ""
        sinks.add_row(sink.name, sink.kind, f"{url}{signed}")
    console.print(sinks)
    g = settings.grouping
    console.print(
        f"grouping by {', '.join(g.by)}: wait {g.wait_s:g}s, interval {g.interval_s:g}s, "
        f"repeat {g.repeat_interval_s:g}s; evaluated every {settings.evaluate_interval_s:g}s"
    )
    for silence in settings.silences:
        console.print(
            f"silence: {silence.practice_id} {silence.starts_at.isoformat()} → {silence.ends_at.isoformat()}"
        )
    if not settings.sinks:
        console.print("[yellow]no sinks: alerts are evaluated and logged only[/]")


@app.command("test")
def send_test(
    config: _Config,
    sink: Annotated[str, typer.Option(help="The sink's name (see `alerts check`).")],
    dashboard_url: _DashboardUrl = None,
) -> None:
    """Send a test notification to one sink, firing then resolved (PagerDuty closes what it opened)."""
    from ops.alerts.delivery import Deliveries, Outcome
    from ops.alerts.notices import Notice, Status
    from ops.alerts.payloads import Batch
    from ops.alerts.settings import AlertSettingsError, Condition, Severity

    settings = _load(config, dashboard_url=dashboard_url)
    try:
        settings.sink(sink)
    except AlertSettingsError as exc:
        Console(stderr=True).print(Text(str(exc), style="red"))
        raise typer.Exit(2) from exc
    now = datetime.now(UTC)
    notice = Notice(
        key=f"pms-relay:test:{sink}",
        condition=Condition.TEST,
        severity=Severity.INFO,
        status=Status.FIRING,
        summary=f"test notification from pms-relay alerts to sink {sink}",
        started_at=now,
    )
    console = Console(highlight=False)
    deliveries = Deliveries(settings, lambda outcome: None)
    outcomes: list[Outcome] = []
    try:
        for each in (notice, notice.resolved(datetime.now(UTC))):
            outcome = deliveries.send_now(sink, Batch('{condition="test"}', {"condition": "test"}, (each,)))
            outcomes.append(outcome)
            verdict = "[green]delivered[/]" if outcome.ok else f"[red]not delivered[/] ({outcome.reason})"
            console.print(f"{each.status.value}: {verdict} after {outcome.attempts} attempt(s)")
    finally:
        deliveries.stop()
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)
