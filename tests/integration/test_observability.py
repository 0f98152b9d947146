"""Seeing a running worker: /metrics after real commands, /health/ready before and after it owns partitions,
and the status topic's records, from real worker processes on the real broker and the Dentrix sandbox.

One partition and two workers: whichever holds it is ready, the other is alive but not ready (503) until the
first one stops and hands the partition over; the one that stopped leaves a tombstone on the status topic.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import Consumer
from prometheus_client.parser import text_string_to_metric_families

from schemas.envelopes import CommandType
from tests.commands import command, payload_for
from tests.contract.dentrix_harness import DentrixHarness
from tests.contract.harness import Fault, FaultKind, Resource
from tests.relay_system import RelaySystem, wait_until
from tests.unit.streams.test_status import PRACTICE_KEYS, WORKER_KEYS

pytestmark = pytest.mark.integration

PRACTICE = "dx-obs"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""  # not listening yet


def _health(port: int) -> tuple[int, dict[str, Any]]:
    status, body = _get(port, "/health/ready")
    return status, json.loads(body) if body else {}


@dataclass
class StatusTopic:
    """Every record of the status topic, read from the start on a thread of its own."""

    bootstrap: str
    topic: str
    records: list[tuple[str, dict[str, Any] | None, dict[str, bytes]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        consumer = Consumer(
            {"bootstrap.servers": self.bootstrap, "group.id": f"status-{uuid.uuid4().hex[:8]}",
             "auto.offset.reset": "earliest", "enable.auto.commit": False}
        )  # fmt: skip
        consumer.subscribe([self.topic])
        try:
            while not self._stop.is_set():
                message = consumer.poll(0.2)
                if message is None or message.error():
                    continue
                value = message.value()
                with self._lock:
                    self.records.append(
                        (message.key().decode(), json.loads(value) if value is not None else None,
                         dict(message.headers() or ()))
                    )  # fmt: skip
        finally:
            consumer.close()

    def latest(self, key: str) -> tuple[bool, dict[str, Any] | None]:
        """(seen at all, its latest value: None for a tombstone)."""
        with self._lock:
            found = [value for k, value, _ in self.records if k == key]
        return (bool(found), found[-1] if found else None)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def dentrix() -> Iterator[DentrixHarness]:
    harness = DentrixHarness()
    harness.start()
    yield harness
    harness.stop()


@dataclass
class Observed:
    system: RelaySystem
    status: StatusTopic
    ports: dict[str, int]  # worker id -> web port


@pytest.fixture(scope="module")
def observed(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, dentrix: DentrixHarness
) -> Iterator[Observed]:
    connection = dict(dentrix.connection())
    secrets = {"OBS_DENTRIX_SECRET": str(connection["client_secret"])}
    connection["client_secret"] = {"env": "OBS_DENTRIX_SECRET"}
    practices = {
        PRACTICE: {"pms": "dentrix", "time_zone": dentrix.known.dst_location_zone, "connection": connection}
    }
    system = RelaySystem(
        bootstrap=kafka_bootstrap, workdir=tmp_path_factory.mktemp("observability"), practices=practices,
        secrets=secrets, partitions=1,
    ).start(workers=0)  # fmt: skip
    status = StatusTopic(kafka_bootstrap, system.topics.status)
    ports = {"obs-a": _free_port(), "obs-b": _free_port()}
    try:
        system.start_worker(
            "--web-port", str(ports["obs-a"]), "--worker-id", "obs-a", "--status-interval", "1"
        )
        yield Observed(system, status, ports)
    finally:
        system.stop()
        status.stop()


def _send_commands(observed: Observed, dentrix: DentrixHarness) -> list[str]:
    system, known = observed.system, dentrix.known
    ids = []
    # One 503 from the PMS: retried inside the call; the command still succeeds on its first attempt.
    dentrix.set_faults(Fault(FaultKind.SERVER_ERROR, resource=Resource.PATIENTS, count=1))
    try:
        search = command(
            PRACTICE, CommandType.SEARCH_PATIENTS, payload_for(CommandType.SEARCH_PATIENTS, known)
        )
        ids.append(system.send(search))
        system.wait_for(ids, timeout=60)
    finally:
        dentrix.set_faults()
    for command_type in (CommandType.LIST_LOCATIONS, CommandType.VALIDATE_CONNECTION):
        ids.append(system.send(command(PRACTICE, command_type, payload_for(command_type, known))))
    missing = command(
        PRACTICE,
        CommandType.UPDATE_PATIENT,
        {"patient_id": "no-such-patient", "updates": {"preferred_name": "X"}},
    )
    ids.append(system.send(missing))
    system.wait_for(ids, timeout=60)
    return ids


def test_metrics_after_real_commands_carry_ids_and_codes_only(
    observed: Observed, dentrix: DentrixHarness
) -> None:
    _send_commands(observed, dentrix)
    port = observed.ports["obs-a"]
    status, body = _get(port, "/metrics")
    assert status == 200
    text = body.decode()
    assert not [marker for marker in dentrix.known.phi if marker and marker in text]
    families = {family.name: family for family in text_string_to_metric_families(text)}

    finished = {
        (s.labels["command_type"], s.labels["outcome"], s.labels["code"]): s.value
        for s in families["pms_relay_commands_finished"].samples
        if s.name.endswith("_total")
    }
    assert finished[("SearchPatients", "succeeded", "")] >= 1
    assert finished[("ListLocations", "succeeded", "")] >= 1
    assert finished[("UpdatePatient", "answered_error", "NOT_FOUND")] >= 1
    practices = {s.labels["practice_id"] for s in families["pms_relay_commands_finished"].samples}
    assert practices == {PRACTICE}

    calls = {
        (s.labels["operation"], s.labels["status"])
        for s in families["http_client_request_duration_seconds"].samples
        if s.name.endswith("_count")
    }
    assert {("SearchPatients", "OK"), ("UpdatePatient", "NOT_FOUND")} <= calls
    retries = [s for s in families["pms_relay_pms_request_retries"].samples if s.name.endswith("_total")]
    assert [(s.labels["operation"], s.labels["code"]) for s in retries] == [("SearchPatients", "UNAVAILABLE")]
    assert retries[0].value >= 1
    states = {s.labels["state"]: s.value for s in families["pms_relay_circuit_state"].samples}
    assert states == {"closed": 1.0, "open": 0.0, "half-open": 0.0}
    [last_success] = families["pms_relay_pms_last_success_timestamp_seconds"].samples
    assert last_success.labels == {"practice_id": PRACTICE, "pms": "DENTRIX"}
    assert families["pms_relay_commands_admitted_limit"].samples[0].value == 2048
    topic = observed.system.topics.commands
    wait_until(lambda: _lag_of(port, topic) == 0, timeout=30, what="the commands partition committed")
    assert "faust_messages_received" in families  # Faust's own sensor, under its own prefix
    assert "process_cpu_seconds" in families


def _lag_of(port: int, topic: str) -> float | None:
    text = _get(port, "/metrics")[1].decode()
    for family in text_string_to_metric_families(text):
        if family.name == "pms_relay_consumer_lag":
            return sum(s.value for s in family.samples if s.labels == {"topic": topic, "partition": "0"})
    return None


def test_status_records_follow_the_contract(observed: Observed, dentrix: DentrixHarness) -> None:
    system, status = observed.system, observed.status
    _send_commands(observed, dentrix)

    def counted() -> bool:
        _, worker = status.latest("worker|obs-a")
        return worker is not None and worker["commands_in"] >= 4 and worker["answers_out"] >= 4

    wait_until(counted, timeout=30, what="the worker's record counting the commands")
    _, worker = status.latest("worker|obs-a")
    assert worker is not None
    assert set(worker) == WORKER_KEYS
    assert (worker["state"], worker["partitions"]) == ("running", [f"{system.topics.commands}:0"])
    assert set(worker["retry_tiers"]) == set(system.topics.retries)
    wait_until(
        lambda: status.latest(f"practice|{PRACTICE}")[1] is not None, timeout=30, what="a practice record"
    )
    _, practice = status.latest(f"practice|{PRACTICE}")
    assert practice is not None
    assert set(practice) == PRACTICE_KEYS
    assert (practice["pms"], practice["worker_id"], practice["circuit"]) == ("DENTRIX", "obs-a", "closed")
    assert practice["last_success_at"] is not None
    assert practice["window_5m"]["finished"] >= 4
    assert practice["last_error"]["code"] == "NOT_FOUND"
    headers = next(h for k, _, h in status.records if k == f"practice|{PRACTICE}")
    assert headers["ce_type"] == b"pms.status.practice.v1"
    assert headers["content-type"] == b"application/json"
    text = json.dumps([value for _, value, _ in status.records])
    assert not [marker for marker in dentrix.known.phi if marker and marker in text]


def test_ready_only_while_owning_a_partition_and_a_stopped_worker_leaves_a_tombstone(
    observed: Observed,
) -> None:
    system, ports, status = observed.system, observed.ports, observed.status
    wait_until(lambda: _health(ports["obs-a"])[0] == 200, timeout=60, what="the first worker ready")
    system.start_worker("--web-port", str(ports["obs-b"]), "--worker-id", "obs-b", "--status-interval", "1")

    def settled() -> bool:  # both in the group, each with its own view of the one partition
        answers = {worker: _health(port) for worker, port in ports.items()}
        tables_up = all(
            body.get("components", {}).get("tables", {}).get("status") == "UP" for _, body in answers.values()
        )
        return tables_up and sorted(code for code, _ in answers.values()) == [200, 503]

    wait_until(settled, timeout=90, what="one worker ready and the other not")
    owner = next(worker for worker, port in ports.items() if _health(port)[0] == 200)
    idle = next(worker for worker in ports if worker != owner)
    code, body = _health(ports[idle])
    assert (code, body["status"]) == (503, "DOWN")
    assert body["components"]["partitions"] == {"status": "DOWN", "details": {"assigned": []}}
    assert body["components"]["kafka"]["status"] == "UP"
    assert _get(ports[idle], "/health/live")[0] == 200  # alive: not a reason to restart it

    system.kill_worker(0 if owner == "obs-a" else 1, sig=signal.SIGTERM)
    wait_until(lambda: _health(ports[idle])[0] == 200, timeout=90, what="the partition handed over")
    wait_until(lambda: status.latest(f"worker|{owner}") == (True, None), timeout=30, what="the tombstone")
    states = [value["state"] for key, value, _ in status.records if key == f"worker|{owner}" and value]
    assert states[-1] == "stopping"
    wait_until(
        lambda: (status.latest(f"practice|{PRACTICE}")[1] or {}).get("worker_id") == idle,
        timeout=30,
        what="the practice reported by its new owner",
    )
