"""Status records: their shape is the contract with the dashboard; when they are published is the publisher's."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.errors import Unavailable
from schemas.envelopes import CommandType
from streams.activity import Activity
from streams.circuit import Transition
from streams.due_gates import Waiting
from streams.observer import Observers
from streams.probe import AppState
from streams.readings import Readings, partition_of
from streams.scheduler import Scheduler
from streams.status import (
    PRACTICE_TYPE,
    WORKER_TYPE,
    Identity,
    StatusPublisher,
    StatusRecord,
    encode,
    worker_state,
)
from streams.tracing import TracingObserver
from tests.unit.streams.fakes import DENTRIX, EAGLESOFT, NAMES, PATIENT_DATA, FakeClock, Harness, command

WORKER_KEYS = {
    "worker_id", "host", "pid", "version", "state", "partitions", "started_at", "updated_at", "commands_in",
    "answers_out", "in_flight", "max_in_flight", "retry_tiers", "dead_letters_written",
}  # fmt: skip
PRACTICE_KEYS = {
    "practice_id", "pms", "worker_id", "circuit", "circuit_since", "failures", "parked_until", "last_success_at",
    "last_error", "recent_failures", "window_5m", "window_60m", "pms_latency_ms", "slots_in_use", "slots", "backlog",
    "updated_at",
}  # fmt: skip
RUNNING = AppState(True, True, False, False, True, (0,), False, False)


class Sent:
    def __init__(self) -> None:
        self.batches: list[list[StatusRecord]] = []

    async def __call__(self, topic: str, records: Sequence[StatusRecord]) -> None:
        assert topic == NAMES.status
        self.batches.append(list(records))

    @property
    def keys(self) -> list[list[str]]:
        return [[r.key for r in batch] for batch in self.batches]


def _system(clock: FakeClock, *, interval: float = 5.0) -> tuple[StatusPublisher, Sent, Harness, Activity]:
    activity = Activity(NAMES.commands, clock=clock)
    harness = Harness(clock, observer=Observers([TracingObserver("pms-relay"), activity]))
    assigned = (partition_of(DENTRIX, 6), partition_of(EAGLESOFT, 6))
    readings = Readings(
        registry=harness.registry,
        commands_topic=NAMES.commands,
        partitions=6,
        scheduler=Scheduler(max_in_flight=64, practice_slots=lambda _p: 4),
        waiting=lambda: {NAMES.retries[0]: Waiting(2, clock() - 3.5)},
        tiers=NAMES.retries,
        circuits=harness.board,
        assigned=lambda: assigned,
        lag=lambda: {},
        activity=activity,
        clock=clock,
    )
    sent = Sent()
    identity = Identity("w-1", "host-a", 42, "0.1.0", clock() - 60)
    publisher = StatusPublisher(
        topic=NAMES.status, identity=identity, readings=readings, state=lambda: RUNNING, send=sent,
        interval=interval, clock=clock,
    )  # fmt: skip
    return publisher, sent, harness, activity


async def test_records_have_exactly_the_contract_s_fields_and_no_patient_data(clock: FakeClock) -> None:
    publisher, sent, harness, _ = _system(clock)
    harness.dentrix.will("search_patients", Unavailable("503"))
    failing = command(CommandType.SEARCH_PATIENTS)
    await harness.send(failing)
    await publisher.tick()

    [batch] = sent.batches
    worker, *practices = batch
    assert worker.key == "worker|w-1"
    assert worker.event_type == WORKER_TYPE
    assert worker.value is not None
    assert set(worker.value) == WORKER_KEYS
    assert worker.value["state"] == "running"
    assert worker.value["retry_tiers"][NAMES.retries[0]] == {"depth": 2, "oldest_overdue_s": 3.5}
    assert set(worker.value["retry_tiers"]) == set(NAMES.retries)
    assert {p.key for p in practices} == {f"practice|{DENTRIX}", f"practice|{EAGLESOFT}"}
    dentrix = next(p.value for p in practices if p.key == f"practice|{DENTRIX}")
    assert dentrix is not None
    assert set(dentrix) == PRACTICE_KEYS
    assert (dentrix["pms"], dentrix["worker_id"], dentrix["circuit"], dentrix["slots"]) == (
        "DENTRIX",
        "w-1",
        "closed",
        4,
    )
    assert dentrix["last_error"]["code"] == "UNAVAILABLE"
    assert dentrix["last_error"]["command_id"] == str(failing.command_id)
    assert set(dentrix["recent_failures"][0]) == {"command_id", "code", "at", "trace_id"}
    assert set(dentrix["pms_latency_ms"]) == {"p50", "p95"}
    assert datetime.fromisoformat(dentrix["updated_at"]) == datetime.fromtimestamp(clock(), UTC)
    text = json.dumps([r.value for r in batch])
    assert not any(marker in text for marker in PATIENT_DATA)


async def test_everything_each_interval_and_changed_circuits_in_between(clock: FakeClock) -> None:
    publisher, sent, _, activity = _system(clock, interval=5)
    await publisher.tick()
    clock.advance(1)
    await publisher.tick()  # nothing changed
    activity.circuit_changed(Transition(DENTRIX, "DENTRIX", "closed", "open", datetime.now(UTC), 3))
    clock.advance(1)
    await publisher.tick()
    clock.advance(3)
    await publisher.tick()
    everything = ["worker|w-1", *sorted([f"practice|{DENTRIX}", f"practice|{EAGLESOFT}"])]
    assert sent.keys == [everything, [f"practice|{DENTRIX}"], everything]


async def test_a_stopping_worker_says_so_then_leaves_a_tombstone(clock: FakeClock) -> None:
    publisher, sent, _, _ = _system(clock)
    await publisher.stopping()
    await publisher.gone()
    [[stopping], [tombstone]] = sent.batches
    assert stopping.value is not None
    assert stopping.value["state"] == "stopping"
    assert tombstone == StatusRecord("worker|w-1", None, WORKER_TYPE)


async def test_an_interval_of_zero_publishes_nothing(clock: FakeClock) -> None:
    publisher, sent, _, _ = _system(clock, interval=0)
    await publisher.tick()
    await publisher.stopping()
    await publisher.gone()
    assert sent.batches == []


async def test_a_failing_send_never_raises_out_of_a_tick(clock: FakeClock) -> None:
    publisher, _, _, _ = _system(clock)

    async def broken(topic: str, records: Sequence[StatusRecord]) -> None:
        raise RuntimeError("producer stopped")

    publisher._send = broken
    await publisher.tick()  # logged, not raised: a timer that raises would stop the worker


@pytest.mark.parametrize(
    ("change", "stopping", "state"),
    [
        ({}, False, "running"),
        ({}, True, "stopping"),
        ({"recovered": False}, False, "starting"),
        ({"rebalancing": True}, False, "rebalancing"),
        ({"recovering": True}, False, "rebalancing"),
        ({"stopping": True}, False, "stopping"),
    ],
)
def test_worker_state(change: dict[str, Any], stopping: bool, state: str) -> None:
    assert worker_state(replace(RUNNING, **change), stopping=stopping) == state


def test_a_record_is_json_with_cloudevents_headers() -> None:
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    key, value, headers = encode(StatusRecord("practice|p", {"practice_id": "p"}, PRACTICE_TYPE), now)
    assert (key, value) == (b"practice|p", b'{"practice_id":"p"}')
    found = dict(headers)
    assert found["ce_type"] == b"pms.status.practice.v1"
    assert found["content-type"] == b"application/json"
    assert found["ce_time"] == b"2026-05-01T12:00:00Z"
    assert encode(StatusRecord("worker|w", None, WORKER_TYPE), now)[1] is None  # a tombstone


def test_the_default_worker_id_is_host_and_pid() -> None:
    identity = Identity.of_this_process()
    assert identity.worker_id == f"{identity.host}-{identity.pid}"
    assert Identity.of_this_process("worker-a").worker_id == "worker-a"
