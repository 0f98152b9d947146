"""``pms-relay worker``: run the stream processor (see ``topology.py``)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(help="Run the stream processor.", invoke_without_command=True)


@app.callback()
def worker(
    config: Annotated[Path, typer.Option("--config", "-c", help="Practice registry (YAML).")] = Path(
        "practices.yaml"
    ),
    bootstrap_servers: Annotated[
        str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers.")
    ] = "localhost:9092",
    prefix: Annotated[str, typer.Option(envvar="PMS_RELAY_TOPIC_PREFIX", help="Topic name prefix.")] = "",
    app_id: Annotated[
        str, typer.Option(envvar="PMS_RELAY_APP_ID", help="Consumer group and table namespace.")
    ] = "pms-relay",
    partitions: Annotated[int, typer.Option(help="Partition count of pms.commands (and every tier).")] = 6,
    retry_delays: Annotated[
        str,
        typer.Option(envvar="PMS_RELAY_RETRY_DELAYS", help="Retry tier delays in seconds, comma-separated."),
    ] = "10,60,600",
    reconcile_grace: Annotated[
        float, typer.Option(help="Seconds before an unconfirmed write that the PMS does not show is retried.")
    ] = 30.0,
    max_in_flight: Annotated[
        int, typer.Option(min=1, help="Commands admitted at once per worker (memory bound).")
    ] = 2048,
    inbox_retention: Annotated[
        str, typer.Option(help="How long answered commands are remembered for replays (e.g. 7d, 48h).")
    ] = "7d",
    web_port: Annotated[
        int | None, typer.Option(help="Serve Faust's web pages (health) on this port.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Consume commands, call the practices' PMSs, answer. Stop with SIGTERM or Ctrl-C."""
    from streams.logs import configure_logging
    from streams.registry import RegistryError, load_registry
    from streams.retry import RetryTiers
    from streams.topics import TopicNames, parse_retention
    from streams.tracing import configure_tracing
    from topology import WorkerSettings, build

    configure_logging(log_level)
    try:
        registry = load_registry(config)
        tiers = RetryTiers(tuple(float(part) for part in retry_delays.split(",") if part.strip()))
        retention_ms = parse_retention(inbox_retention)
        if retention_ms < 0:
            raise ValueError("the inbox retention must be finite")
    except (RegistryError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    configure_tracing()
    settings = WorkerSettings(
        bootstrap_servers=bootstrap_servers,
        app_id=app_id,
        topics=TopicNames(prefix=prefix, tiers=tiers),
        partitions=partitions,
        reconcile_grace_seconds=reconcile_grace,
        inbox_retention_seconds=retention_ms / 1000,
        max_in_flight=max_in_flight,
        web_port=web_port,
    )
    _ensure_topics(settings, log_level)
    topology = build(settings, registry)
    logging.getLogger(__name__).info(
        "worker starting practices=%s pid=%s topics=%s", len(registry), os.getpid(), settings.topics.commands
    )
    import faust

    faust.Worker(
        topology.app, loglevel=log_level, quiet=True, redirect_stdouts=False
    ).execute_from_commandline()


def _ensure_topics(settings: object, log_level: str) -> None:
    """Create any missing topic (changelogs included: Faust must find them with the right partition count).

    Existing topics are never altered; a mismatch is logged for an operator.
    """
    from confluent_kafka.admin import AdminClient

    from streams.topics import Outcome, TopicSettings, ensure_topics, topic_specs
    from topology import WorkerSettings

    assert isinstance(settings, WorkerSettings)
    wanted = TopicSettings(
        prefix=settings.topics.prefix,
        command_partitions=settings.partitions,
        result_partitions=settings.partitions,
        error_partitions=settings.partitions,
        retry_delays=settings.topics.tiers.delays,
        app_id=settings.app_id,
    )
    log = logging.getLogger(__name__)
    for outcome in ensure_topics(
        AdminClient({"bootstrap.servers": settings.bootstrap_servers}), topic_specs(wanted)
    ):
        if outcome.outcome is Outcome.MISMATCH:
            log.warning(
                "topic differs topic=%s differences=%s", outcome.spec.name, "; ".join(outcome.differences)
            )
        elif outcome.outcome is Outcome.CREATED:
            log.info("topic created topic=%s partitions=%s", outcome.spec.name, outcome.spec.partitions)
