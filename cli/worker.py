"""``pms-relay worker``: run the stream processor (see ``topology.py``)."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["app"]

# The longest a PMS call may take (WorkerSettings.call_budget_seconds): a write sent may be applied that late.
_CALL_BUDGET_SECONDS = 30.0

app = typer.Typer(help="Run the stream processor.", invoke_without_command=True)


@app.callback()
def worker(
    config: Annotated[Path, typer.Option("--config", "-c", help="Practice registry (YAML).")] = Path(
        "practices.yaml"
    ),
    bootstrap_servers: Annotated[
        str,
        typer.Option(
            envvar="KAFKA_BOOTSTRAP_SERVERS",
            help="Kafka bootstrap servers. Security: the KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and KAFKA_SSL_* "
            "variables (deploy/README.md).",
        ),
    ] = "localhost:9092",
    prefix: Annotated[str, typer.Option(envvar="PMS_RELAY_TOPIC_PREFIX", help="Topic name prefix.")] = "",
    app_id: Annotated[
        str, typer.Option(envvar="PMS_RELAY_APP_ID", help="Consumer group and table namespace.")
    ] = "pms-relay",
    partitions: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Partitions of pms.commands when the worker creates it [default: 6; an existing topic's own].",
        ),
    ] = None,
    retry_delays: Annotated[
        str,
        typer.Option(envvar="PMS_RELAY_RETRY_DELAYS", help="Retry tier delays in seconds, comma-separated."),
    ] = "10,60,600",
    reconcile_grace: Annotated[
        float,
        typer.Option(
            help="Seconds before an unconfirmed write that the PMS does not show is retried. Keep it above the "
            "call budget (30 s): a write sent just before a crash may still be applied that late."
        ),
    ] = 45.0,
    max_in_flight: Annotated[
        int, typer.Option(min=1, help="Commands admitted at once per worker (memory bound).")
    ] = 2048,
    practice_backlog: Annotated[
        int,
        typer.Option(
            min=1,
            help="Commands of one practice admitted at once; beyond it they wait in the shortest retry tier, "
            "so a slow practice cannot fill --max-in-flight (up to twice it while they would start here "
            "sooner than they would come back from that tier).",
        ),
    ] = 128,
    revoke_wait: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds running commands may take to finish when their partition is revoked (then they are "
            "cancelled and redelivered to the next owner). Every partition of the group waits for it.",
        ),
    ] = 5.0,
    session_timeout: Annotated[
        float,
        typer.Option(
            min=1,
            help="Seconds the group waits for a silent (killed, hung) worker before its partitions move; the "
            "broker's group.min.session.timeout.ms (6 s by default) is the floor.",
        ),
    ] = 6.0,
    store: Annotated[
        str,
        typer.Option(
            help="Where tables live: memory (rebuilt from the changelogs on every assignment) or rocksdb "
            "(kept in --data-dir across restarts; needs the rocksdict package).",
        ),
    ] = "memory",
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Faust's data directory (RocksDB tables) [default: ./<app-id>-data]."),
    ] = None,
    max_age: Annotated[
        float,
        typer.Option(
            min=1,
            help="Seconds after which a command that sets no expires_at is answered DEADLINE_EXCEEDED.",
        ),
    ] = 3600.0,
    inbox_retention: Annotated[
        str, typer.Option(help="How long answered commands are remembered for replays (e.g. 7d, 48h).")
    ] = "7d",
    web_port: Annotated[
        int | None,
        typer.Option(
            envvar="PMS_RELAY_WEB_PORT",
            help="Serve /health/live, /health/ready and /metrics (Faust's web server) on this port.",
        ),
    ] = None,
    web_host: Annotated[
        str,
        typer.Option(
            envvar="PMS_RELAY_WEB_HOST",
            help="Address the web pages listen on. Loopback keeps them inside the pod or host; "
            "0.0.0.0 (all interfaces) when a health probe must reach them from outside.",
        ),
    ] = "127.0.0.1",
    metrics: Annotated[
        bool,
        typer.Option(help="Count and time commands for /metrics (and OTLP when configured); off to measure."),
    ] = True,
    metrics_practice_label: Annotated[
        bool,
        typer.Option(
            envvar="PMS_RELAY_METRICS_PRACTICE_LABEL",
            help="Label metrics by practice_id; drop it where one series per practice is too many.",
        ),
    ] = True,
    status_interval: Annotated[
        float,
        typer.Option(min=0, help="Seconds between records on the status topic (pms.status); 0: none."),
    ] = 5.0,
    worker_id: Annotated[
        str | None,
        typer.Option(
            envvar="PMS_RELAY_WORKER_ID",
            help="This worker's id on the status topic (default: <hostname>-<pid>).",
        ),
    ] = None,
    connect_timeout: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="Seconds to wait at start for the cluster to answer before giving up (a refusal fails at once).",
        ),
    ] = 15.0,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Consume commands, call the practices' PMSs, answer. Stop with SIGTERM or Ctrl-C."""
    from confluent_kafka import KafkaException

    from streams.kafka_access import KafkaAccessError
    from streams.kafka_settings import KafkaSettings, KafkaSettingsError
    from streams.logs import configure_logging
    from streams.otel_metrics import configure_metrics
    from streams.registry import RegistryError, load_registry
    from streams.retry import RetryTiers
    from streams.topics import TopicNames, parse_retention
    from streams.tracing import configure_tracing
    from topology import TableStore, WorkerSettings, build

    configure_logging(log_level)
    try:
        registry = load_registry(config)
        tiers = RetryTiers(tuple(float(part) for part in retry_delays.split(",") if part.strip()))
        retention_ms = parse_retention(inbox_retention)
        if retention_ms < 0:
            raise ValueError("the inbox retention must be finite")
        kafka = KafkaSettings.from_env(bootstrap_servers=bootstrap_servers)
        table_store = TableStore(store)
    except (RegistryError, KafkaSettingsError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if reconcile_grace <= _CALL_BUDGET_SECONDS:
        logging.getLogger(__name__).warning(
            "reconcile grace %ss is not above the call budget %ss: a write applied late may be written twice; "
            "raise --reconcile-grace",
            reconcile_grace,
            _CALL_BUDGET_SECONDS,
        )
    names = TopicNames(prefix=prefix, tiers=tiers)
    try:
        count = _prepare_topics(kafka, names, app_id, partitions, connect_timeout)
    except (TopicLayoutError, KafkaAccessError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except KafkaException as exc:
        typer.echo(f"error: cannot reach Kafka ({kafka.describe()}): {exc.args[0]}", err=True)
        raise typer.Exit(2) from exc
    configure_tracing()
    settings = WorkerSettings(
        kafka=kafka,
        app_id=app_id,
        topics=names,
        partitions=count,
        reconcile_grace_seconds=reconcile_grace,
        inbox_retention_seconds=retention_ms / 1000,
        max_in_flight=max_in_flight,
        practice_backlog=practice_backlog,
        revoke_wait_seconds=revoke_wait,
        session_timeout_seconds=session_timeout,
        store=table_store,
        data_dir=data_dir,
        max_age_seconds=max_age,
        web_port=web_port,
        web_host=web_host,
        metrics=metrics,
        metrics_practice_label=metrics_practice_label,
        status_interval_seconds=status_interval,
        worker_id=worker_id,
    )
    topology = build(settings, registry, meter_provider=configure_metrics() if metrics else None)
    logging.getLogger(__name__).info(
        "worker starting practices=%s pid=%s topics=%s bootstrap=%s security=%s",
        len(registry),
        os.getpid(),
        settings.topics.commands,
        kafka.bootstrap_servers,
        kafka.security_protocol.value,
    )
    import faust

    # override_logging=False: mode would replace the root handlers with its own format (and colour codes).
    # No spinner: it writes to stdout, and without one Faust logs "Ready" instead.
    faust_worker = faust.Worker(topology.app, quiet=True, override_logging=False)
    faust_worker.spinner = None
    faust_worker.execute_from_commandline()


class TopicLayoutError(Exception):
    """The cluster's topics cannot carry this worker: co-partitioned topics disagree on their partition count."""


def _prepare_topics(
    kafka: object, names: object, app_id: str, partitions: int | None, connect_timeout: float
) -> int:
    """Check that the cluster lets us in (a refused password fails here, at once, naming the setting; no
    answer within ``connect_timeout`` seconds fails naming the address), then create any missing topic and
    return the partition count to run with (see :func:`_adopt_layout`)."""
    from streams.kafka_access import check_access
    from streams.kafka_settings import KafkaSettings

    assert isinstance(kafka, KafkaSettings)
    check_access(kafka, timeout=connect_timeout)
    with _admin_client(kafka) as admin:
        return _adopt_layout(admin, names, app_id, partitions)


@contextlib.contextmanager
def _admin_client(kafka: Any) -> Iterator[Any]:
    """An admin client whose librdkafka lines go through our logging, not straight to stderr.

    librdkafka queues the lines it hands to a logger until a poll serves them: the last poll on the way out.
    """
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(kafka.confluent(logger=logging.getLogger("librdkafka")))
    try:
        yield admin
    finally:
        admin.poll(0)


def _adopt_layout(admin: Any, names: object, app_id: str, partitions: int | None) -> int:
    """Create any missing topic and return the partition count to run with.

    pms.commands decides the count: an existing topic's own, else ``partitions`` (6 by default). Its retry
    tiers and the table changelogs must have the same count, because a command's copies and table entries
    live in the partition its practice hashes to: a mismatch there stops the worker before it consumes
    anything. Other differences (retention, the answer topics' counts) are logged for an operator; existing
    topics are never altered.
    """
    from streams.topics import TABLES, Outcome, TopicNames, TopicSettings, ensure_topics, topic_specs

    assert isinstance(names, TopicNames)
    found = admin.list_topics(timeout=15).topics.get(names.commands)
    existing = len(found.partitions) if found is not None and found.partitions else None
    if existing is not None and partitions is not None and existing != partitions:
        raise TopicLayoutError(f"{names.commands} has {existing} partitions, not the {partitions} asked for")
    count = existing or partitions or 6
    wanted = TopicSettings(
        prefix=names.prefix,
        command_partitions=count,
        result_partitions=count,
        error_partitions=count,
        retry_delays=names.tiers.delays,
        app_id=app_id,
    )
    co_partitioned = {names.commands, *names.retries, *(names.changelog(app_id, t) for t in TABLES)}
    log = logging.getLogger(__name__)
    for outcome in ensure_topics(admin, topic_specs(wanted)):
        name = outcome.spec.name
        if outcome.outcome is Outcome.CREATED:
            log.info("topic created topic=%s partitions=%s", name, outcome.spec.partitions)
        elif outcome.outcome is Outcome.MISMATCH:
            if name in co_partitioned and any(d.startswith("partitions") for d in outcome.differences):
                raise TopicLayoutError(f"{name} must have the partition count of {names.commands}: "
                                       + "; ".join(outcome.differences))  # fmt: skip
            log.warning("topic differs topic=%s differences=%s", name, "; ".join(outcome.differences))
    return count
