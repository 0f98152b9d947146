"""The whole flow of pms-relay on one page: the Faust app, its topics, tables and agents.

::

    platform ──► pms.commands ──► [agent: commands] ─┐
                                                      ├─► Scheduler ─► Processor ─► adapter ─► PMS
    pms.commands.retry.<d> ──► [agent: retries] ──────┘   (per-subject     │
           ▲   (waits until each copy is due,                order, per-     ├─► pms.results
           │    per partition, never early)                  practice        ├─► pms.errors
           │                                                 slots)          ├─► pms.commands.retry.<d> ─┘
           └──────────────────────────────────────────────────────────────── ├─► pms.commands.dlt
                                                                              └─► pms.alerts (circuit transitions)
    tables (changelogged, co-partitioned with pms.commands by practice):
      inbox     command id        → IN_FLIGHT | SCHEDULED | DONE (+ the answer)   idempotency
      subjects  practice|subject  → commands waiting in retry, in order           ordering across retries
      circuits  practice|PMS      → pybreaker state, counters, parked-until        circuit breakers

Every message is acked only when its step is finished; Faust commits an offset only when every message
before it is acked, so a crash replays, and the inbox turns replays into answers instead of second writes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import faust
from faust.streams import _current_event
from faust.types import TP, EventT, TableT

from adapters.contract import PMSInterface
from adapters.vendors import make_adapter
from streams import cloudevents as ce
from streams.circuit import CircuitBoard, Transition
from streams.codec import Codec, EncodedMessage
from streams.commits import CommitLedger, LedgerTransport, Ticket
from streams.hops import read_hop
from streams.ordering import subject_of
from streams.processor import Incoming, Processor, ProcessorSettings, Routes
from streams.registry import Practice, Registry
from streams.scheduler import Scheduler
from streams.topics import TopicNames

__all__ = ["ALERT_TYPE", "TopicNames", "Topology", "WorkerSettings", "build"]

ALERT_TYPE = "pms.alert.circuit.v1"

Event = EventT[Any]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSettings:
    bootstrap_servers: str = "localhost:9092"
    app_id: str = "pms-relay"
    topics: TopicNames = field(default_factory=TopicNames)
    partitions: int = 6
    # Commands admitted at once (running or waiting for their practice's slots or their subject's turn). A
    # slow practice holds at most its own slots; this bound only caps memory, so keep it well above the sum
    # of the practices' slots times their backlog.
    max_in_flight: int = 2048
    reconcile_grace_seconds: float = 30.0
    call_budget_seconds: float = 30.0
    inbox_retention_seconds: float = 7 * 24 * 3600.0
    web_port: int | None = None  # Faust's web server (health and /performance/); off when None
    # Loopback by default: the web server belongs to the pod, not the network (see README, "Worker web port").
    web_host: str = "127.0.0.1"
    # Above this many copies waiting for their due time in one partition, that partition's fetching pauses.
    retry_buffer: int = 500
    # How long the group waits for a silent worker (killed, hung) before its partitions move on.
    session_timeout_seconds: float = 10.0
    # A practice with this many commands admitted (running or waiting for its slots) sends its next ones to
    # the shortest retry tier instead, so its backlog never holds the worker-wide bound.
    practice_backlog: int = 128
    # On a revocation, how long commands already running may take to finish before they are cancelled
    # (and redelivered to the next owner, which reconciles any write they may have made).
    revoke_wait_seconds: float = 30.0
    # A command that sets no expires_at is given up this long after it was first seen (DEADLINE_EXCEEDED).
    max_age_seconds: float = 3600.0


@dataclass
class Topology:
    app: faust.App
    processor: Processor
    scheduler: Scheduler
    adapters: dict[str, PMSInterface]
    ledger: CommitLedger


def build(settings: WorkerSettings, registry: Registry, *, codec: Codec | None = None) -> Topology:
    """Wire the app: topics, tables, the processor and the agents that feed it."""
    names = settings.topics
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap_servers}",
        store="memory://",  # tables are rebuilt from their changelogs at start
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
        broker_heartbeat_interval=settings.session_timeout_seconds / 4,
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

    # Offsets are committed by our ledger, never past an unfinished message (see streams/commits.py). Set
    # before the first topic is declared: topics reach the transport through the conductor.
    ledger = CommitLedger()
    app.transport = LedgerTransport(
        app.conf.broker_consumer, app, ledger=ledger, before_revoke=lambda tps: before_revoke(tps)
    )

    def raw_topic(*topic_names: str) -> faust.TopicT:
        return app.topic(
            *topic_names, key_serializer="raw", value_serializer="raw", partitions=settings.partitions
        )

    commands = raw_topic(names.commands)
    retries = raw_topic(*names.retries)

    def json_table(name: str) -> TableT[str, Any]:
        # The app's default value serializer is JSON: entries are plain dicts and lists.
        return app.Table(name, default=None, partitions=settings.partitions, key_type=str)

    inbox = json_table("inbox")
    subjects = json_table("subjects")
    circuits_table = json_table("circuits")

    adapters: dict[str, PMSInterface] = {}

    def adapter_for(practice: Practice) -> PMSInterface:
        adapter = adapters.get(practice.practice_id)
        if adapter is None:
            adapter = adapters[practice.practice_id] = make_adapter(practice.pms, practice.connection)
        return adapter

    def publish_transition(transition: Transition) -> None:
        _log.warning(
            "circuit %s -> %s practice_id=%s pms=%s",
            transition.old,
            transition.new,
            transition.practice_id,
            transition.pms.value,
        )
        # pybreaker calls listeners synchronously, inside the command's task: send from a task of its own.
        pending = asyncio.get_running_loop().create_task(outbox.send(names.alerts, _alert(transition)))
        alert_tasks.add(pending)
        pending.add_done_callback(alert_tasks.discard)

    outbox = _FaustOutbox(app)
    alert_tasks: set[asyncio.Task[None]] = set()

    processor = Processor(
        settings=ProcessorSettings(
            routes=Routes(names.results, names.errors, names.retries, names.dead_letters),
            tiers=names.tiers,
            reconcile_grace_seconds=settings.reconcile_grace_seconds,
            call_budget_seconds=settings.call_budget_seconds,
            consumer_group=settings.app_id,
            max_age_seconds=settings.max_age_seconds,
        ),
        registry=registry,
        adapter_for=adapter_for,
        codec=codec or Codec(),
        inbox=inbox,
        subjects=subjects,
        circuits=CircuitBoard(circuits_table, notify=publish_transition),
        outbox=outbox,
    )

    def practice_slots(practice_id: str) -> int:
        practice = registry.get(practice_id)
        return practice.max_concurrent if practice is not None else 1

    scheduler = Scheduler(
        max_in_flight=settings.max_in_flight,
        practice_slots=practice_slots,
        practice_backlog=lambda _practice_id: settings.practice_backlog,
    )

    async def submit(event: Event, ticket: Ticket | None = None) -> None:
        message = event.message
        ticket = ticket or ledger.track(message.tp, message.offset)
        if ticket is None:  # its partition is being revoked: the next owner reads it again
            return
        incoming = _incoming(event)
        decoded = processor.decode(incoming)
        practice_id, subject = "", None
        if not isinstance(decoded, Exception):
            practice_id, subject = decoded.practice_id, subject_of(decoded)

        def job(*, defer: bool) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                if ticket.stale:  # admitted after its partition was revoked
                    return
                # Table writes go to the changelog partition of the event being processed.
                _current_event.set(weakref.ref(event))
                await processor.handle(incoming, decoded, defer=defer)
                ticket.finish()

            return run

        await scheduler.submit(
            practice_id, subject, job(defer=False), partition=message.tp, overflow=job(defer=True)
        )

    @app.agent(commands, name="commands")
    async def process_commands(stream: faust.StreamT[Any]) -> None:
        async for event in cast(faust.Stream[Any], stream).noack().events():
            await submit(event)

    gates = _DueGates(app, ledger, submit, settings.retry_buffer)

    @app.agent(retries, name="retries")
    async def process_retries(stream: faust.StreamT[Any]) -> None:
        async for event in cast(faust.Stream[Any], stream).noack().events():
            await gates.put(event)

    @app.timer(interval=60.0)  # type: ignore[untyped-decorator]
    async def expire_inbox() -> None:
        _expire(inbox, time.time() - settings.inbox_retention_seconds)

    async def before_revoke(revoked: set[TP]) -> None:
        """Runs before Faust lets go of ``revoked``: what started finishes (within a bound), what did not start
        is left unfinished for the next owner, and only then is the commit point taken."""
        _log.info("partitions revoked partitions=%s running=%s", _tp_list(revoked), scheduler.in_flight)
        await gates.release(revoked)
        abandoned = await scheduler.revoke(revoked, wait=settings.revoke_wait_seconds)
        if abandoned:
            _log.warning(
                "revoked with commands still running partitions=%s cancelled=%s; they will be redelivered",
                _tp_list(revoked),
                abandoned,
            )

    async def on_shutdown(sender: Any, **_: Any) -> None:
        await gates.release(None)
        try:
            async with asyncio.timeout(settings.call_budget_seconds):
                await scheduler.drain()
        except TimeoutError:
            _log.warning(
                "shutdown with %s commands unfinished; they will be redelivered", scheduler.in_flight
            )
        for adapter in adapters.values():
            await adapter.close()

    app.on_before_shutdown.connect(on_shutdown)  # type: ignore[arg-type]
    return Topology(app=app, processor=processor, scheduler=scheduler, adapters=adapters, ledger=ledger)


class _FaustOutbox:
    """Sends through Faust's producer and waits for the broker's acknowledgement."""

    def __init__(self, app: faust.App) -> None:
        self._app = app
        self._next_flush: asyncio.Future[None] | None = None
        self._flusher: asyncio.Task[None] | None = None

    async def send(self, topic: str, message: EncodedMessage, partition: int | None = None) -> None:
        pending = await self._app.producer.send(
            topic, message.key, message.value, partition, None, list(message.headers)
        )
        await pending

    async def durable(self) -> None:
        """Callers share flush rounds: each joins the next round to start (it covers everything the caller
        buffered before), so a hundred concurrent writes cost one flush, not a hundred interleaved ones
        (measured: per-caller flushes took 27% of the worker's CPU under load)."""
        if self._next_flush is None:
            self._next_flush = asyncio.get_running_loop().create_future()
        joined = self._next_flush
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_rounds())
        await asyncio.shield(joined)

    async def _flush_rounds(self) -> None:
        while self._next_flush is not None:
            current, self._next_flush = self._next_flush, None
            try:
                await self._app.producer.flush()
            except Exception as exc:  # every caller of this round sees the failure
                current.set_exception(exc)
            else:
                current.set_result(None)


class _DueGates:
    """Holds retry copies until they are due: one FIFO per partition, so no partition or tier waits for another.

    Each tier has one delay, so within a partition copies come due in the order they arrive.
    """

    def __init__(
        self,
        app: faust.App,
        ledger: CommitLedger,
        submit: Callable[[Event, Ticket], Awaitable[None]],
        high_water: int,
    ) -> None:
        self._app = app
        self._ledger = ledger
        self._submit = submit
        self._high_water = high_water
        self._queues: dict[TP, asyncio.Queue[tuple[Event, Ticket]]] = {}
        self._tasks: dict[TP, asyncio.Task[None]] = {}
        self._paused: set[TP] = set()

    async def put(self, event: Event) -> None:
        # Faust's own TP: the message carries aiokafka's TopicPartition, which Faust's pause and resume
        # bookkeeping refuses (an assertion that crashed the fetcher once a partition was paused).
        tp = TP(event.message.tp.topic, event.message.tp.partition)
        # Tracked from the moment it is read: a copy waiting for its due time holds the commit point.
        ticket = self._ledger.track(tp, event.message.offset)
        if ticket is None:
            return
        queue = self._queues.get(tp)
        if queue is None:
            queue = self._queues[tp] = asyncio.Queue()
            self._tasks[tp] = asyncio.create_task(self._drain(tp, queue))
        queue.put_nowait((event, ticket))
        if queue.qsize() >= self._high_water and tp not in self._paused:
            self._app.consumer.pause_partitions({tp})
            self._paused.add(tp)

    async def _drain(self, tp: TP, queue: asyncio.Queue[tuple[Event, Ticket]]) -> None:
        while True:
            event, ticket = await queue.get()
            hop = read_hop(_headers(event))
            if hop is not None and hop.due_at is not None:
                wait = (hop.due_at - datetime.now(UTC)).total_seconds()
                if wait > 0:
                    await asyncio.sleep(wait)
            await self._submit(event, ticket)
            if tp in self._paused and queue.qsize() < self._high_water // 2:
                self._app.consumer.resume_partitions({tp})
                self._paused.discard(tp)

    async def release(self, tps: set[TP] | None) -> None:
        """Forget waiting copies of ``tps`` (all when None) unfinished: their next owner reads them again."""
        for tp in list(self._tasks) if tps is None else [tp for tp in tps if tp in self._tasks]:
            task = self._tasks.pop(tp)
            task.cancel()
            self._queues.pop(tp, None)
            self._paused.discard(tp)
        await asyncio.sleep(0)


def _incoming(event: Event) -> Incoming:
    message = event.message
    return Incoming(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=_headers(event),
    )


def _tp_list(tps: set[TP]) -> str:
    return ",".join(f"{tp.topic}:{tp.partition}" for tp in sorted(tps))


def _headers(event: Event) -> list[tuple[str, bytes | None]]:
    headers = event.message.headers or ()
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(key, value) for key, value in items]


def _alert(transition: Transition) -> EncodedMessage:
    """A circuit transition as a CloudEvent with a JSON body (operators read alerts with any tool)."""
    body = {
        "type": "circuit",
        "practice_id": transition.practice_id,
        "pms": transition.pms.value,
        "from": transition.old,
        "to": transition.new,
        "failures": transition.failures,
        "at": transition.at.isoformat(),
    }
    headers = ce.build_headers(
        event_id=str(uuid.uuid4()),
        source=ce.DEFAULT_SOURCE,
        event_type=ALERT_TYPE,
        time=transition.at,
    )
    headers = [(k, b"application/json" if k == "content-type" else v) for k, v in headers]
    return EncodedMessage(transition.practice_id.encode(), json.dumps(body).encode(), headers)


def _expire(inbox: Any, cutoff: float) -> None:
    """Drop inbox entries older than the retention (outside an event: the entry names its partition)."""
    expired = [
        (key, value) for key, value in inbox.items() if value and float(value.get("since", 0)) < cutoff
    ]
    for key, value in expired:
        inbox.data.pop(key, None)
        inbox.send_changelog(int(value["partition"]), key, None, value_serializer="raw")
