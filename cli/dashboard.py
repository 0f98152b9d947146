"""``pms-relay dashboard``: serve the operator's page for the whole cluster (see :mod:`ops.dashboard`).

It reads the status topic, the alerts, the dead letters and the workers' group offsets; it joins no consumer
group and writes nothing to Kafka. Bound to loopback by default: put it behind your own proxy to share it.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from cli.options import BootstrapServers, TopicPrefix, WorkersAppId

__all__ = ["app"]

app = typer.Typer(help="Serve the operator dashboard for the whole cluster.", invoke_without_command=True)


@app.callback()
def dashboard(
    bootstrap_servers: BootstrapServers = "localhost:9092",
    prefix: TopicPrefix = "",
    app_id: WorkersAppId = "pms-relay",
    host: Annotated[str, typer.Option(envvar="PMS_RELAY_DASHBOARD_HOST", help="Address to listen on.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(envvar="PMS_RELAY_DASHBOARD_PORT", help="Port to listen on.")] = 8090,
    zipkin_url: Annotated[
        str | None,
        typer.Option(envvar="PMS_RELAY_ZIPKIN_URL", help="Zipkin's base URL, to link failures to traces."),
    ] = None,
    refresh: Annotated[float, typer.Option(min=1, help="Seconds between the page's refreshes.")] = 5.0,
    status_interval: Annotated[
        float, typer.Option(min=0.5, help="The workers' --status-interval (a record 3x older is silent).")
    ] = 5.0,
) -> None:
    """Serve the dashboard until Ctrl-C."""
    import uvicorn

    from ops.dashboard import DashboardSettings, Feed, build_app
    from ops.dashboard.levels import Thresholds
    from streams.kafka_access import KafkaAccessError, check_access
    from streams.kafka_settings import KafkaSettings, KafkaSettingsError

    try:  # a wrong password or certificate exits 2 at once, naming the variable, as every command does
        kafka = KafkaSettings.from_env(bootstrap_servers=bootstrap_servers)
        check_access(kafka)
    except (KafkaSettingsError, KafkaAccessError) as exc:
        Console(stderr=True).print(Text(str(exc), style="red"))
        raise typer.Exit(2) from exc
    settings = DashboardSettings(
        bootstrap_servers=bootstrap_servers,
        prefix=prefix,
        group=app_id,
        zipkin_url=zipkin_url,
        refresh_s=refresh,
        thresholds=Thresholds(status_interval_s=status_interval),
    )
    feed = Feed(settings, kafka.confluent())
    feed.start()
    Console(highlight=False).print(
        f"dashboard at http://{host}:{port}/ (status {settings.status_topic}, group {app_id})"
    )
    try:
        uvicorn.run(build_app(settings, feed), host=host, port=port, log_level="warning", access_log=False)
    finally:
        feed.stop()
