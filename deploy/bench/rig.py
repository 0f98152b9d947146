"""One benchmark case's system: fresh topics and consumer group, ``pms-relay worker`` subprocesses, a
producer for the burst and a collector that stamps each answer's arrival.

Ideas from ``tests/relay_system.py``; unlike it, the collector does not decode answers (it reads the
``ce_correlationid`` header only), so the bench process spends its CPU on timestamps, not on Avro.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import AdminClient

from schemas.codec import Codec
from schemas.envelopes import CommandEnvelope
from streams.logs import WORKER_READY
from streams.retry import RetryTiers
from streams.topics import TopicNames, TopicSettings, ensure_topics, topic_specs
from tests.relay_system import wait_until

__all__ = ["Rig"]

_CORRELATION = "ce_correlationid"


@dataclass
class Rig:
    bootstrap: str
    workdir: Path
    registry: dict[str, Any]  # the practice registry document (YAML)
    env: dict[str, str] = field(default_factory=dict)  # secrets the registry references
    partitions: int = 6
    log_level: str = "info"
    profile: bool = False  # run workers under pyinstrument (a session file in workdir, written at stop)
    worker_args: tuple[str, ...] = ()  # more `pms-relay worker` options, e.g. ("--practice-backlog", "64")
    # The worker's command line after the interpreter: the real worker, or the bench's instant-PMS worker
    # (``("-m", "deploy.bench.instant_worker")``, same options).
    entry: tuple[str, ...] = ("-m", "cli", "worker")

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.topics = TopicNames(
            prefix=f"bench{uuid.uuid4().hex[:8]}.", tiers=RetryTiers((10.0, 60.0, 600.0))
        )
        self.app_id = f"bench-{uuid.uuid4().hex[:8]}"
        self.arrived: dict[str, float] = {}  # command id -> monotonic time of the first answer
        self.errors: set[str] = set()  # command ids answered on the errors topic
        self.partitions_used: Counter[int] = Counter()
        self._workers: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()
        self._assigned = threading.Event()
        self._lock = threading.Lock()
        self._producer = Producer({"bootstrap.servers": self.bootstrap, "partitioner": "murmur2_random"})
        self._codec = Codec()

    # ---- lifecycle ---------------------------------------------------------------------------------------

    def start(self, workers: int, *, bare: bool = False) -> Rig:
        """Topics, the collector, then ``workers`` workers (``bare``: the bare Faust agent instead, which
        forwards the commands topic to the results topic)."""
        settings = TopicSettings(
            prefix=self.topics.prefix,
            command_partitions=self.partitions,
            result_partitions=self.partitions,
            error_partitions=self.partitions,
            retry_delays=self.topics.tiers.delays,
            app_id=self.app_id,
        )
        ensure_topics(AdminClient({"bootstrap.servers": self.bootstrap}), topic_specs(settings))
        (self.workdir / "practices.yaml").write_text(yaml.safe_dump(self.registry), encoding="utf-8")
        self._collector = threading.Thread(target=self._collect, name="collector", daemon=True)
        self._collector.start()
        wait_until(self._assigned.is_set, timeout=30, what="the collector's assignment")
        for _ in range(workers):
            self.add_worker(bare=bare)
        return self

    def add_worker(self, *, bare: bool = False) -> None:
        """One more worker (or bare agent) on the same topics and group, returned once it is ready."""
        self._start_worker(self._bare_args() if bare else self._worker_args())

    def stop(self) -> None:
        for worker in self._workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in self._workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        self._stop.set()
        self._collector.join(timeout=10)

    @property
    def worker_pids(self) -> list[int]:
        return [worker.pid for worker in self._workers]

    def _worker_args(self) -> list[str]:
        return [
            *self.entry,
            "--config", str(self.workdir / "practices.yaml"),
            "--bootstrap-servers", self.bootstrap,
            "--prefix", self.topics.prefix,
            "--app-id", self.app_id,
            "--partitions", str(self.partitions),
            "--retry-delays", ",".join(f"{d:g}" for d in self.topics.tiers.delays),
            "--log-level", self.log_level,
            "--data-dir", str(self._data_dir()),
            *self.worker_args,
        ]  # fmt: skip

    def _bare_args(self) -> list[str]:
        return [
            "-m", "deploy.bench.bare_agent",
            "--bootstrap-servers", self.bootstrap,
            "--source", self.topics.commands,
            "--sink", self.topics.results,
            "--app-id", self.app_id,
            "--partitions", str(self.partitions),
            "--log-level", self.log_level,
            "--data-dir", str(self._data_dir()),
        ]  # fmt: skip

    def _data_dir(self) -> Path:
        """Faust's data dir for the next worker: in the workdir, not ``<app-id>-data`` where the bench runs."""
        return self.workdir / f"faust-data-{len(self._workers)}"

    def _start_worker(self, command: list[str]) -> None:
        index = len(self._workers)
        log_path = self.workdir / f"worker-{index}.log"
        # A session file: ``pyinstrument --load FILE -r text --show-all`` renders it with every frame.
        session = str(self.workdir / f"worker-{index}.pyisession")
        profiler = ["-m", "pyinstrument", "-r", "session", "-o", session]
        args = [sys.executable, *(profiler if self.profile else []), *command]
        env = {**os.environ, **self.env, "OTEL_TRACES_EXPORTER": "none"}
        with log_path.open("wb") as log:
            self._workers.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env))

        def ready() -> bool:
            if self._workers[index].poll() is not None:
                raise RuntimeError(f"worker {index} exited; see {log_path}")
            return WORKER_READY in log_path.read_text(encoding="utf-8", errors="replace")

        wait_until(ready, timeout=90, what=f"worker {index} ready")

    # ---- traffic -----------------------------------------------------------------------------------------

    def send(self, commands: Sequence[CommandEnvelope], *, rate: float = 0.0) -> dict[str, float]:
        """Produce ``commands`` as fast as the client allows, or ``rate`` per second; command id -> monotonic
        time of its produce."""
        encoded = [(str(c.command_id), self._codec.encode_command(c)) for c in commands]
        sent_at: dict[str, float] = {}
        start = time.monotonic()
        for index, (command_id, message) in enumerate(encoded):
            if rate > 0:
                pause = start + index / rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                    self._producer.poll(0)
            sent_at[command_id] = time.monotonic()
            self._produce(message.key, message.value, [(k, v) for k, v in message.headers])
        self._producer.flush(60)
        return sent_at

    def _produce(
        self, key: bytes | None, value: bytes | None, headers: list[tuple[str, str | bytes | None]]
    ) -> None:
        while True:
            try:
                self._producer.produce(
                    self.topics.commands, key=key, value=value, headers=headers, on_delivery=self._delivered
                )
                return
            except BufferError:  # the client's queue is full: let it drain, then go on
                self._producer.poll(0.01)

    def _delivered(self, error: Any, message: Message) -> None:
        partition = message.partition()
        if error is None and partition is not None:
            self.partitions_used[partition] += 1

    def answered(self, command_ids: Sequence[str]) -> int:
        with self._lock:
            return sum(1 for command_id in command_ids if command_id in self.arrived)

    def wait_answers(self, command_ids: Sequence[str], timeout: float) -> bool:
        """Whether every command was answered within ``timeout`` seconds."""
        try:
            wait_until(
                lambda: self.answered(command_ids) == len(command_ids), timeout=timeout, what="answers"
            )
        except AssertionError:
            return False
        return True

    # ---- the collector -----------------------------------------------------------------------------------

    def _collect(self) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"collector-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 20,
            }
        )
        topics = [self.topics.results, self.topics.errors, self.topics.dead_letters]
        consumer.subscribe(topics, on_assign=lambda *_: self._assigned.set())
        try:
            while not self._stop.is_set():
                # Stamped as soon as the first message is handed over (poll returns at once), then whatever
                # came with it is drained without waiting: the collector adds no batching delay of its own.
                first = consumer.poll(0.1)
                if first is None:
                    continue
                now = time.monotonic()
                for message in [first, *consumer.consume(num_messages=1000, timeout=0)]:
                    if message.error() is None:
                        self._record(message, now)
        finally:
            consumer.close()

    def _record(self, message: Message, now: float) -> None:
        headers = dict(message.headers() or ())
        raw = headers.get(_CORRELATION)
        if raw is None:  # an undecodable command's error, or a dead letter: nothing to time
            return
        command_id = raw.decode() if isinstance(raw, bytes) else raw
        with self._lock:
            self.arrived.setdefault(command_id, now)
            if message.topic() != self.topics.results:
                self.errors.add(command_id)
