from __future__ import annotations

import random

import pytest

from adapters.eaglesoft.sandbox.writes import (
    TRANSIENT_CODES,
    Operation,
    Write,
    WriteFate,
    WriteFaultEngine,
    WriteQueue,
    WriteRejected,
    WriteStatus,
    is_write_fault,
    parse_write_fault_spec,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _write() -> Write:
    return Write("1", 1, "Patient", Operation.CREATE, None, {}, due_at=0.0)


def test_a_write_resolves_once() -> None:
    write = _write()
    write.complete(42)
    assert (write.status, write.entity_id) == (WriteStatus.COMPLETED, 42)
    with pytest.raises(RuntimeError, match="already Completed"):
        write.fail("RecordLocked")
    failed = _write()
    failed.fail("InvalidPatient")
    assert failed.as_json()["Reason"] == "PatientId is not a patient of this practice"
    with pytest.raises(RuntimeError):
        failed.complete(1)


def _queue(clock: Clock, delay_ms: tuple[float, float] = (50, 200)) -> WriteQueue:
    return WriteQueue(random.Random(1), delay_ms, clock=clock)


def test_queue_resolves_due_writes_in_acceptance_order() -> None:
    clock = Clock()
    queue = _queue(clock, (100, 100))
    first = queue.accept(1, "Patient", Operation.CREATE, None, {"n": 1})
    second = queue.accept(1, "Patient", Operation.CREATE, None, {"n": 2})
    applied: list[int] = []

    def apply(write: Write) -> int:
        applied.append(write.payload["n"])
        return 1000 + write.payload["n"]

    assert queue.settle(apply) == []
    clock.now += 0.1
    assert queue.settle(apply) == [first, second]
    assert applied == [1, 2]
    assert (first.entity_id, second.entity_id) == (1001, 1002)
    assert queue.settle(apply) == []  # resolved writes never resolve again


@pytest.mark.parametrize(
    ("fate", "rejection", "status", "code"),
    [
        (WriteFate(), None, WriteStatus.COMPLETED, None),
        (WriteFate(), "InvalidChair", WriteStatus.FAILED, "InvalidChair"),
        (WriteFate(error_code="RecordLocked"), None, WriteStatus.FAILED, "RecordLocked"),
        (WriteFate(hold_s=60), None, WriteStatus.PENDING, None),
        (WriteFate(hold_s=60, error_code="ServerBusy"), None, WriteStatus.PENDING, None),
    ],
)
def test_fates(fate: WriteFate, rejection: str | None, status: WriteStatus, code: str | None) -> None:
    clock = Clock()
    queue = _queue(clock)
    write = queue.accept(1, "Appointment", Operation.CREATE, None, {}, fate=fate)

    def apply(_: Write) -> int:
        if rejection:
            raise WriteRejected(rejection)
        return 7

    clock.now += 1  # past any normal delay, well before the hold
    queue.settle(apply)
    assert (write.status, write.error_code) == (status, code)


def test_held_write_resolves_after_the_hold() -> None:
    clock = Clock()
    queue = _queue(clock)
    write = queue.accept(
        1, "Patient", Operation.CREATE, None, {}, fate=WriteFate(hold_s=60, error_code="ServerBusy")
    )
    clock.now += 60
    queue.settle(lambda _: 1)
    assert (write.status, write.error_code) == (WriteStatus.FAILED, "ServerBusy")
    assert "ServerBusy" in TRANSIENT_CODES


def test_record_lock_is_per_record() -> None:
    queue = _queue(Clock())
    queue.accept(1, "Appointment", Operation.UPDATE, 5, {})
    assert queue.pending_for("Appointment", 5)
    assert not queue.pending_for("Appointment", 6)
    assert not queue.pending_for("Patient", 5)


def test_delays_are_reproducible_from_the_seed() -> None:
    def dues() -> list[float]:
        queue = _queue(Clock())
        return [queue.accept(1, "Patient", Operation.CREATE, None, {}).due_at for _ in range(5)]

    assert dues() == dues()
    assert all(100.05 <= due <= 100.2 for due in dues())


@pytest.mark.parametrize(
    ("spec", "fate"),
    [
        ("write_failed", WriteFate(error_code="RecordLocked")),
        ("write_failed,error_code=InvalidPatient", WriteFate(error_code="InvalidPatient")),
        ("write_stuck", WriteFate(hold_s=30)),
        ("write_stuck,pending_s=5,then=failed", WriteFate(hold_s=5, error_code="ServerBusy")),
    ],
)
def test_write_fault_specs(spec: str, fate: WriteFate) -> None:
    assert is_write_fault(spec)
    assert parse_write_fault_spec(spec).fate() == fate


@pytest.mark.parametrize("spec", ["write_failed,then", "write_lost", "write_stuck,pending_s=-1"])
def test_bad_write_fault_specs(spec: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (pydantic's ValidationError is a ValueError)
        parse_write_fault_spec(spec)


def test_engine_scope_skip_and_count() -> None:
    engine = WriteFaultEngine(seed=1, clock=Clock())
    engine.replace([parse_write_fault_spec("write_failed,method=PUT,path=/appointments,skip=1,count=2")])
    decisions = [engine.decide(m, p).error_code for m, p in
                 [("POST", "/appointments"), ("PUT", "/patients/1"), ("PUT", "/appointments/1"),
                  ("PUT", "/appointments/1"), ("PUT", "/appointments/1"), ("PUT", "/appointments/1")]]  # fmt: skip
    assert decisions == [None, None, None, "RecordLocked", "RecordLocked", None]
    assert engine.describe()[0]["fired"] == 2


def test_engine_probability_is_seeded() -> None:
    def run(seed: int) -> list[bool]:
        engine = WriteFaultEngine(seed=seed, clock=Clock())
        engine.replace([parse_write_fault_spec("write_failed,probability=0.5")])
        return [engine.decide("POST", "/patients").error_code is not None for _ in range(40)]

    assert run(3) == run(3)
    assert run(3) != run(4)
    assert 5 < sum(run(3)) < 35
