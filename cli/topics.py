"""``pms-relay topics create``: create the contract's topics, idempotently, and report any that differ."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from streams.kafka_access import KafkaAccessError, check_access
from streams.kafka_settings import KafkaSettings, KafkaSettingsError
from streams.topics import Outcome, TopicOutcome, TopicSettings, ensure_topics, topic_specs

__all__ = ["app"]

app = typer.Typer(help="Manage the Kafka topics of the pms-relay contract.", no_args_is_help=True)

_SILENT = logging.getLogger("cli.topics.librdkafka")
_SILENT.propagate = False
_SILENT.addHandler(logging.NullHandler())

_STYLE = {Outcome.CREATED: "green", Outcome.EXISTS: "cyan", Outcome.MISMATCH: "bold red"}
_LABEL = {Outcome.CREATED: "created", Outcome.EXISTS: "ok, exists", Outcome.MISMATCH: "MISMATCH"}


@app.command()
def create(
    bootstrap_servers: Annotated[
        str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers.")
    ] = "localhost:9092",
    prefix: Annotated[
        str, typer.Option(envvar="PMS_RELAY_TOPIC_PREFIX", help="Name prefix, e.g. 'staging.'.")
    ] = "",
    partitions: Annotated[
        int, typer.Option(envvar="PMS_RELAY_TOPIC_PARTITIONS", min=1, help="Partitions per topic.")
    ] = 6,
    retention: Annotated[
        str, typer.Option(envvar="PMS_RELAY_TOPIC_RETENTION", help="e.g. 30d, 720h, or 'unlimited'.")
    ] = "30d",
    replication_factor: Annotated[
        int,
        typer.Option(
            envvar="PMS_RELAY_TOPIC_REPLICATION",
            help="Copies of each partition; sets min.insync.replicas to 2 from 3 up, else 1. "
            "-1: the broker's defaults for both.",
        ),
    ] = -1,
    retry_delays: Annotated[
        str,
        typer.Option(envvar="PMS_RELAY_RETRY_DELAYS", help="Retry tier delays in seconds, comma-separated."),
    ] = "10,60,600",
    app_id: Annotated[
        str, typer.Option(envvar="PMS_RELAY_APP_ID", help="The worker's app id (names its table changelogs).")
    ] = "pms-relay",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the cluster.")] = 30.0,
) -> None:
    """Create every topic: commands, results, errors, retry tiers, dead letters, alerts, table changelogs.

    Existing topics are checked, never altered. Connects with the KAFKA_* security variables (deploy/README.md).

    Exits 1 when an existing topic differs from the wanted layout, 2 on bad options or no cluster."""
    console = Console()
    try:
        settings = TopicSettings.model_validate(
            {
                "prefix": prefix,
                "command_partitions": partitions,
                "result_partitions": partitions,
                "error_partitions": partitions,
                "retention_ms": retention,
                "replication_factor": replication_factor,
                "retry_delays": [part for part in retry_delays.split(",") if part.strip()],
                "app_id": app_id,
            }
        )
    except ValidationError as exc:
        console.print(f"[red]invalid option:[/] {exc.errors()[0]['msg']}")
        raise typer.Exit(2) from exc
    try:
        kafka = KafkaSettings.from_env(bootstrap_servers=bootstrap_servers)
        check_access(kafka, timeout=timeout)
    except (KafkaSettingsError, KafkaAccessError) as exc:
        console.print(Text(str(exc), style="red"))
        raise typer.Exit(2) from exc
    # librdkafka would log every failed connection attempt to stderr; the one error below says it all.
    admin = AdminClient(kafka.confluent(logger=_SILENT))
    try:
        outcomes = ensure_topics(admin, topic_specs(settings), timeout=timeout)
    except KafkaException as exc:
        console.print(f"[red]cannot reach or change the cluster at {bootstrap_servers}:[/] {exc.args[0]}")
        raise typer.Exit(2) from exc
    console.print(_table(outcomes, bootstrap_servers))
    mismatched = [o for o in outcomes if o.outcome is Outcome.MISMATCH]
    for o in mismatched:
        for difference in o.differences:
            console.print(f"[red]{o.spec.name}[/] {difference}", soft_wrap=True, highlight=False)
    if mismatched:
        console.print("[bold red]These topics differ from the wanted layout; they were left unchanged.[/]")
        raise typer.Exit(1)


def _table(outcomes: list[TopicOutcome], bootstrap_servers: str) -> Table:
    table = Table(title=f"topics on {bootstrap_servers}")
    for column in ("topic", "partitions", "replicas", "min.insync", "retention.ms", "result"):
        table.add_column(column)
    for o in outcomes:
        result = f"[{_STYLE[o.outcome]}]{_LABEL[o.outcome]}[/]"
        replicas = str(o.spec.replication_factor) if o.spec.replication_factor != -1 else "default"
        min_insync = o.spec.config.get("min.insync.replicas", "default")
        retention = o.spec.config.get("retention.ms", "")
        table.add_row(o.spec.name, str(o.spec.partitions), replicas, min_insync, retention, result)
    return table
