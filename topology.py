"""The whole flow of pms-relay on one page: the Faust app, its topics, tables and agents, and what each feeds.

::

    platform ──► pms.commands ──► [agent: commands] ───────────────┐
                                                                    ├─► Intake ─► Scheduler ─► Pipeline ─► adapter ─► PMS
    pms.commands.retry.<d> ──► [agent: retries] ─► DueGates ────────┘  (ledger)   (subject      │
           ▲                    (each copy waits until due,                        order,       ├─► pms.results
           │                     per partition; never early)                       practice     ├─► pms.errors
           │                                                                       slots and    ├─► pms.commands.retry.<d>
           └───────────────────────────────────────────────────────────────────── backlog)      ├─► pms.commands.dlt
                                                                                                └─► pms.alerts
    tables (changelogged, co-partitioned with pms.commands by practice):
      inbox     command id        → IN_FLIGHT | SCHEDULED | DONE (+ the answer)   idempotency
      subjects  practice|subject  → commands waiting in retry, in order           ordering across retries
      circuits  practice|PMS      → pybreaker state, counters, parked-until        circuit breakers

A message is tracked in the commit ledger when it is taken in and finished when its step is done; an offset is
committed only when every message before it is finished (``streams/commits.py``), so a crash or a rebalance
replays instead of skipping, and the inbox turns replays into answers instead of second writes.

Seen from outside: ``/health/live``, ``/health/ready`` and ``/metrics`` on the web port, and each worker's and
practice's status on the compacted ``pms.status`` topic (``streams/health.py``, ``streams/metrics.py``,
``streams/status.py``), all fed by the observer seam and read from the live state above.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

import faust
from faust.types import TableT
from opentelemetry.sdk.metrics import MeterProvider

from schemas.codec import Codec
from streams import health
from streams.activity import Activity
from streams.adapter_pool import AdapterFactory, AdapterPool, vendor_adapter
from streams.alerts import CircuitAlerts
from streams.circuit import CircuitBoard
from streams.commits import CommitLedger, LedgerConsumer, LedgerTransport
from streams.due_gates import DueGates
from streams.handover import Handover
from streams.inbox import sweep
from streams.intake import Intake
from streams.kafka_settings import KafkaSettings
from streams.metrics import Backend, Metrics
from streams.observer import Observer, Observers
from streams.otel_metrics import OtelMetrics
from streams.outbound import Routes
from streams.outbox import FaustOutbox, ReceiptTable
from streams.pipeline import Pipeline, PipelineSettings
from streams.probe import AppProbe
from streams.prometheus import PrometheusMetrics
from streams.readings import Readings
from streams.registry import Registry
from streams.scheduler import Scheduler
from streams.status import Identity, StatusPublisher, faust_sender
from streams.tables import StoreReadTable
from streams.topics import TopicNames
from streams.tracing import TracingObserver

__all__ = ["TableStore", "Topology", "WorkerSettings", "build"]


class TableStore(StrEnum):
    MEMORY = "memory"
    ROCKSDB = "rocksdb"


@dataclass(frozen=True)
class WorkerSettings:
    # Where the cluster is and how to log into it (streams/kafka_settings.py: the KAFKA_* variables).
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    app_id: str = "pms-relay"
    topics: TopicNames = field(default_factory=TopicNames)
    partitions: int = 6
    # Commands admitted at once (running or waiting for their practice's slots or their subject's turn). A
    # slow practice holds at most its own slots; this bound only caps memory, so keep it well above the sum
    # of the practices' slots times their backlog.
    max_in_flight: int = 2048
    reconcile_grace_seconds: float = 45.0
    call_budget_seconds: float = 30.0
    inbox_retention_seconds: float = 7 * 24 * 3600.0
    web_port: int | None = None  # Faust's web server (health); off when None
    # Loopback by default: the web server belongs to the pod, not the network (README, "Operating it").
    web_host: str = "127.0.0.1"
    # Above this many copies waiting for their due time in one partition, that partition's fetching pauses.
    retry_buffer: int = 500
    # How long the group waits for a silent worker (killed, hung) before its partitions move on. Heartbeats
    # go every sixth of it, so the group also learns of a rebalance that soon (see _faust_app).
    session_timeout_seconds: float = 6.0
    # Where tables live between rebalances: memory (rebuilt from the changelogs on every assignment) or
    # RocksDB in data_dir (kept across restarts; standby replicas kept up to date there).
    store: TableStore = TableStore.MEMORY
    data_dir: Path | None = None  # Faust's datadir; the working directory's "<app_id>-data" when None
    # A practice with this many commands admitted (running or waiting for its slots) sends its next ones to
    # the shortest retry tier instead, so its backlog never holds the worker-wide bound; up to twice this
    # many while its jobs would start here sooner than they would come back from that tier.
    practice_backlog: int = 128
    # On a revocation, how long commands already running may take to finish before they are cancelled
    # (and redelivered to the next owner, which reconciles any write they may have made). aiokafka's
    # rebalances are eager (every member revokes everything, and the group waits for the slowest), so this
    # wait stalls every partition of the group, not only the revoked ones: keep it short.
    revoke_wait_seconds: float = 5.0
    # A command that sets no expires_at is given up this long after it was first seen (DEADLINE_EXCEEDED).
    max_age_seconds: float = 3600.0
    # Metrics (/metrics with Faust's sensor, OTLP when configured); off only to measure what they cost.
    metrics: bool = True
    metrics_practice_label: bool = True  # off for fleets where one series per practice is too many
    status_interval_seconds: float = 5.0  # records on the status topic; 0: none
    worker_id: str | None = None  # on the status topic; <hostname>-<pid> when None


@dataclass
class Topology:
    app: faust.App
    pipeline: Pipeline
    scheduler: Scheduler
    adapters: AdapterPool
    ledger: CommitLedger


def build(
    settings: WorkerSettings,
    registry: Registry,
    *,
    codec: Codec | None = None,
    observer: Observer | None = None,
    meter_provider: MeterProvider | None = None,
    adapter_factory: AdapterFactory = vendor_adapter,
) -> Topology:
    """Wire the app: topics, tables, the pipeline and the agents that feed it (``adapter_factory``: each
    practice's adapter, its vendor's by default)."""
    names = settings.topics
    codec = codec or Codec()
    app = _faust_app(settings)

    # What is observed: spans, recent activity (the status topic), and metrics on each backend.
    backends: list[Backend] = [PrometheusMetrics(app)] if settings.metrics else []
    if settings.metrics and meter_provider is not None:
        backends.append(OtelMetrics(meter_provider, loop=lambda: app.loop))
    metrics = Metrics(backends, registry=registry, practice_label=settings.metrics_practice_label)
    activity = Activity(names.commands)
    observer = Observers(
        [observer or TracingObserver(settings.app_id), activity, *([metrics.observer] if backends else [])]
    )

    # Offsets are committed by the ledger, never past an unfinished message. Set before the first topic is
    # declared: topics reach the transport through the conductor.
    ledger = CommitLedger(topics={names.commands, *names.retries})
    app.transport = LedgerTransport(
        app.conf.broker_consumer, app, ledger=ledger, before_revoke=lambda tps: handover.before_revoke(tps)
    )

    def topic(*topic_names: str) -> faust.TopicT:
        return app.topic(
            *topic_names, key_serializer="raw", value_serializer="raw", partitions=settings.partitions
        )

    def store_options() -> dict[str, int] | None:
        # A copy per table: faust's RocksDB store pops keys from the dict it is given.
        return dict(_ROCKSDB_OPTIONS) if settings.store is TableStore.ROCKSDB else None

    def table(name: str) -> TableT[str, Any]:
        # The app's default value serializer is JSON: entries are plain dicts and lists.
        # Reads go straight to the store (streams/tables.py); writes reach the changelog as app.Table's do.
        table = StoreReadTable(
            app,
            name=name,
            default=None,
            beacon=app.tables.beacon,
            partitions=settings.partitions,
            key_type=str,
            options=store_options(),
        )
        return cast(TableT[str, Any], app.tables.add(table))

    commands, retries = topic(names.commands), topic(*names.retries)
    # The inbox keeps receipts: a write's IN_FLIGHT entry waits for its own changelog record, not a flush.
    inbox = ReceiptTable(
        app,
        name="inbox",
        default=None,
        beacon=app.tables.beacon,
        partitions=settings.partitions,
        key_type=str,
        options=store_options(),
    )
    app.tables.add(inbox)
    subjects, circuits = table("subjects"), table("circuits")

    outbox = FaustOutbox(app)
    adapters = AdapterPool(adapter_factory)
    board = CircuitBoard(circuits, notify=CircuitAlerts(outbox, names.alerts, observer))
    pipeline = Pipeline(
        settings=PipelineSettings(
            routes=Routes(names.results, names.errors, names.retries, names.dead_letters),
            tiers=names.tiers,
            reconcile_grace_seconds=settings.reconcile_grace_seconds,
            call_budget_seconds=settings.call_budget_seconds,
            max_age_seconds=settings.max_age_seconds,
        ),
        registry=registry,
        adapter_for=adapters,
        codec=codec,
        inbox=inbox,
        subjects=subjects,
        circuits=board,
        outbox=outbox,
        observer=observer,
    )

    def practice_slots(practice_id: str) -> int:
        practice = registry.get(practice_id)
        return practice.max_concurrent if practice is not None else 1

    scheduler = Scheduler(
        max_in_flight=settings.max_in_flight,
        practice_slots=practice_slots,
        practice_backlog=lambda _practice_id: settings.practice_backlog,
        # Over its backlog a practice defers only commands that would wait here longer than in that tier.
        defer_after=names.tiers.delays[0],
    )
    intake = Intake(ledger=ledger, pipeline=pipeline, scheduler=scheduler, codec=codec)
    gates = DueGates(app, ledger, intake.submit, settings.retry_buffer)
    handover = Handover(
        gates=gates,
        scheduler=scheduler,
        adapters=adapters,
        revoke_wait=settings.revoke_wait_seconds,
        shutdown_wait=settings.call_budget_seconds,
    )

    @app.agent(commands, name="commands")
    async def take_commands(stream: faust.StreamT[Any]) -> None:
        async for event in cast(faust.Stream[Any], stream).noack().events():
            await intake.submit(event)

    @app.agent(retries, name="retries")
    async def take_retries(stream: faust.StreamT[Any]) -> None:
        async for event in cast(faust.Stream[Any], stream).noack().events():
            await gates.put(event)

    @app.timer(interval=10.0)  # type: ignore[untyped-decorator]
    async def reread_dropped() -> None:
        cast(LedgerConsumer, app.consumer).seek_silent_holes()

    @app.timer(interval=60.0)  # type: ignore[untyped-decorator]
    async def expire_inbox() -> None:
        sweep(inbox, time.time() - settings.inbox_retention_seconds)

    # Seen from outside: health pages, gauges read when scraped, status records for the dashboard.
    probe = AppProbe(app, names.commands)
    readings = Readings(
        registry=registry, commands_topic=names.commands, partitions=settings.partitions,
        scheduler=scheduler, waiting=gates.waiting, tiers=names.retries, circuits=board,
        assigned=probe.partitions, lag=probe.lag, activity=activity,
    )  # fmt: skip
    metrics.watch(readings)
    health.install(app, probe.state, names.commands)
    status = StatusPublisher(
        topic=names.status, identity=Identity.of_this_process(settings.worker_id), readings=readings,
        state=probe.state, send=faust_sender(app), interval=settings.status_interval_seconds,
    )  # fmt: skip
    app.timer(interval=1.0)(status.tick)
    app.on_partitions_assigned.connect(status.on_partitions_assigned)  # type: ignore[arg-type]

    async def on_shutdown(sender: Any, **_: Any) -> None:
        await status.stopping()
        await handover.shutdown()
        await status.gone()

    app.on_before_shutdown.connect(on_shutdown)  # type: ignore[arg-type]
    return Topology(app=app, pipeline=pipeline, scheduler=scheduler, adapters=adapters, ledger=ledger)


# RocksDB's sizes for every table partition (one database each, active and standby alike). Faust's defaults are
# 64 MiB write buffers (3 of them) and a 2 GiB block cache per database: a worker holding 12 partitions of 3
# tables could grow to gigabytes. Measured with 36 databases and 600,000 inbox-sized entries (700 B) in 12 of
# them: 480 MiB RSS and rising on the defaults, 90 MiB flat on these. The inbox is read by key, rarely twice:
# a small cache loses nothing.
_ROCKSDB_OPTIONS = {
    "write_buffer_size": 2 * 1024**2,
    "max_write_buffer_number": 2,
    "target_file_size_base": 8 * 1024**2,
    "block_cache_size": 4 * 1024**2,
}


def _faust_app(settings: WorkerSettings) -> faust.App:
    """The Faust app and the settings that the guarantees depend on (each one says why)."""
    names = settings.topics
    return faust.App(
        settings.app_id,
        broker=settings.kafka.faust_broker(),
        broker_credentials=settings.kafka.faust_credentials(),
        store=f"{settings.store.value}://",
        # Standby replicas only pay with a persistent store: the memory store drops every key of a partition
        # that is not active once a recovery completes, and a promoted standby replays its changelog from the
        # start anyway (faust/stores/memory.py: on_recovery_completed, persisted_offset always None).
        table_standby_replicas=1 if settings.store is TableStore.ROCKSDB else 0,
        datadir=settings.data_dir,  # None: Faust's default
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        stream_wait_empty=False,  # retry copies may wait minutes: a rebalance must not wait for them
        broker_commit_interval=0.5,
        # A copy waiting in the longest tier holds its partition's commit point for that long by design:
        # Faust's "has not committed" warning is for stalls beyond that.
        broker_commit_livelock_soft_timeout=max(300.0, 2 * max(names.tiers.delays) + 120.0),
        producer_acks=-1,
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=settings.session_timeout_seconds / 6,
        web_enabled=settings.web_port is not None,
        web_port=settings.web_port or 6066,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        # Faust's table and router pages would serve inbox entries (answers with patient data) to anyone who
        # can reach the port: never on.
        web_tables_enabled=False,
        web_router_enabled=False,
        web_graph_enabled=False,
    )
