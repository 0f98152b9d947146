"""The whole system for end-to-end tests: the real broker, both sandboxes over HTTP, and real worker processes.

A :class:`RelaySystem` owns one set of topics (a unique prefix), a practice registry pointing at the
sandboxes, any number of ``pms-relay worker`` subprocesses (so a test can SIGKILL one), a producer of
commands and a collector of every answer. Nothing here fakes Kafka or HTTP.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from schemas.codec import Codec
from schemas.envelopes import CommandEnvelope, ErrorEnvelope, ResultEnvelope
from streams.logs import WORKER_READY
from streams.retry import RetryTiers
from streams.topics import TopicNames, TopicSettings, ensure_topics, topic_specs

__all__ = ["Answer", "RelaySystem", "wait_until"]


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` when ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass(frozen=True)
class Answer:
    topic: str
    envelope: ResultEnvelope | ErrorEnvelope
    headers: tuple[tuple[str, bytes], ...]


@dataclass
class RelaySystem:
    bootstrap: str
    workdir: Path
    practices: dict[str, dict[str, Any]]  # practice id -> registry entry (pms, time_zone, connection, ...)
    secrets: dict[str, str] = field(default_factory=dict)  # env var -> value, for {env:} references
    partitions: int = 3
    tiers: RetryTiers = field(default_factory=lambda: RetryTiers((1.0, 2.0, 3.0)))
    # Long enough for a write that timed out client-side to land before it is declared missing, even when
    # this machine is loaded: shorter graces make the SIGKILL tests write twice for the wrong reason.
    reconcile_grace: float = 5.0
    # Set on top of the workers' environment (e.g. OTEL_TRACES_EXPORTER=zipkin; tracing is off otherwise).
    worker_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.topics = TopicNames(prefix=f"e2e{uuid.uuid4().hex[:8]}.", tiers=self.tiers)
        self.app_id = f"relay-{uuid.uuid4().hex[:8]}"
        self.codec = Codec()
        self.answers: dict[str, list[Answer]] = defaultdict(list)
        self.dead_letters: list[tuple[bytes | None, list[tuple[str, bytes]]]] = []
        self.alerts: list[bytes] = []
        self._workers: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._producer = Producer({"bootstrap.servers": self.bootstrap, "partitioner": "murmur2_random"})
        self.registry_path = self.workdir / "practices.yaml"

    # ---- lifecycle ---------------------------------------------------------------------------------------

    def start(self, workers: int = 1) -> RelaySystem:
        self._create_topics()
        self.registry_path.write_text(yaml.safe_dump({"practices": self.practices}), encoding="utf-8")
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()
        wait_until(lambda: self._assigned, timeout=30, what="the answer collector's assignment")
        for _ in range(workers):
            self.start_worker()
        return self

    def stop(self) -> None:
        for worker in self._workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in self._workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        self._stop.set()
        self._collector.join(timeout=10)

    def start_worker(self, *options: str) -> subprocess.Popen[bytes]:
        """One more worker (``options``: more ``pms-relay worker`` flags), once it logs that it is ready."""
        index = len(self._workers)
        log = (self.workdir / f"worker-{index}.log").open("wb")
        args = [
            sys.executable, "-m", "cli", "worker",
            "--config", str(self.registry_path),
            "--bootstrap-servers", self.bootstrap,
            "--prefix", self.topics.prefix,
            "--app-id", self.app_id,
            "--partitions", str(self.partitions),
            "--retry-delays", ",".join(f"{d:g}" for d in self.tiers.delays),
            "--reconcile-grace", f"{self.reconcile_grace:g}",
            *options,
        ]  # fmt: skip
        env = {**os.environ, **self.secrets, "OTEL_TRACES_EXPORTER": "none", **self.worker_env}
        worker = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        self._workers.append(worker)
        wait_until(lambda: WORKER_READY in self.worker_log(index), timeout=60, what=f"worker {index} ready")
        return worker

    def kill_worker(self, index: int = -1, sig: int = signal.SIGKILL) -> None:
        worker = self._workers[index]
        worker.send_signal(sig)
        worker.wait(timeout=30)

    def worker_log(self, index: int = -1) -> str:
        number = index if index >= 0 else len(self._workers) + index
        path = self.workdir / f"worker-{number}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    # ---- traffic -----------------------------------------------------------------------------------------

    def send(self, command: CommandEnvelope, *, headers: Iterable[tuple[str, bytes]] = ()) -> str:
        message = self.codec.encode_command(command, passthrough_headers=list(headers))
        self._producer.produce(
            self.topics.commands, key=message.key, value=message.value, headers=message.headers
        )
        self._producer.flush(10)
        return str(command.command_id)

    def send_raw(
        self, value: bytes, *, key: bytes | None = None, headers: list[tuple[str, bytes]] | None = None
    ) -> None:
        self._producer.produce(self.topics.commands, key=key, value=value, headers=headers or [])
        self._producer.flush(10)

    def wait_for(self, command_ids: Iterable[str], timeout: float = 60.0) -> dict[str, Answer]:
        ids = list(command_ids)
        wait_until(
            lambda: all(self.answers.get(i) for i in ids),
            timeout=timeout,
            what=f"answers to {len(ids)} commands",
        )
        return {i: self.answers[i][0] for i in ids}

    # ---- plumbing ----------------------------------------------------------------------------------------

    def _create_topics(self) -> None:
        settings = TopicSettings(
            prefix=self.topics.prefix,
            command_partitions=self.partitions,
            result_partitions=self.partitions,
            error_partitions=self.partitions,
            retry_delays=self.tiers.delays,
            app_id=self.app_id,
        )
        ensure_topics(AdminClient({"bootstrap.servers": self.bootstrap}), topic_specs(settings))

    _assigned = False

    def _collect(self) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"collector-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )

        def on_assign(_consumer: Any, _partitions: Any) -> None:
            self._assigned = True

        topics = [self.topics.results, self.topics.errors, self.topics.dead_letters, self.topics.alerts]
        consumer.subscribe(topics, on_assign=on_assign)
        try:
            while not self._stop.is_set():
                message = consumer.poll(0.2)
                if message is None or message.error():
                    continue
                self._record(message)
        finally:
            consumer.close()

    def _record(self, message: Any) -> None:
        topic, headers = message.topic(), tuple(message.headers() or ())
        with self._lock:
            if topic == self.topics.results:
                result = self.codec.decode_result(message.value(), headers, message.key())
                self.answers[str(result.command_id)].append(Answer(topic, result, headers))
            elif topic == self.topics.errors:
                error = self.codec.decode_error(message.value(), headers, message.key())
                key = (
                    str(error.command_id)
                    if error.command_id is not None
                    else f"undecodable-{len(self.answers)}"
                )
                self.answers[key].append(Answer(topic, error, headers))
            elif topic == self.topics.dead_letters:
                self.dead_letters.append((message.value(), list(headers)))
            else:
                self.alerts.append(message.value())
