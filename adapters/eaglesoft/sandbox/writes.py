"""Asynchronous writes: the life of one write (Pending -> Completed | Failed), the queue that resolves them
when they fall due, and the Eaglesoft-only write faults that decide a write's fate when it is accepted.

A write is resolved lazily: every request first settles the writes that are due, so nothing runs in the
background and a replay with the same seed and request sequence resolves the same way. A resolved write
never changes again.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "REASONS",
    "TRANSIENT_CODES",
    "WRITE_FAULT_KINDS",
    "Operation",
    "Write",
    "WriteFate",
    "WriteFaultEngine",
    "WriteFaultRule",
    "WriteQueue",
    "WriteRejected",
    "WriteStatus",
    "is_write_fault",
    "parse_write_fault_spec",
]

# ErrorCode -> the sentence a Failed write carries as ``Reason`` (never a value the caller sent).
REASONS = {
    "RecordLocked": "The record is locked by another user; try again",
    "ServerBusy": "The server is busy; try again",
    "InvalidPatient": "PatientId is not a patient of this practice",
    "InvalidChair": "LocationId is not a visible chair of this practice",
    "InvalidProvider": "ProviderId is not a provider of this practice",
    "NotFound": "The record no longer exists",
}
TRANSIENT_CODES = frozenset({"RecordLocked", "ServerBusy"})
WRITE_FAULT_KINDS = frozenset({"write_failed", "write_stuck"})


class WriteRejected(Exception):
    """Raised by the store when a due write fails its business checks; nothing was applied."""

    def __init__(self, error_code: str) -> None:
        super().__init__(error_code)
        self.error_code = error_code


class WriteStatus(StrEnum):
    PENDING = "Pending"
    COMPLETED = "Completed"
    FAILED = "Failed"


class Operation(StrEnum):
    CREATE = "Create"
    UPDATE = "Update"
    DELETE = "Delete"


@dataclass(frozen=True)
class WriteFate:
    """What a write fault decided at acceptance: hold it longer than usual, and/or fail it."""

    hold_s: float | None = None  # replaces the normal resolution delay
    error_code: str | None = None
    reason: str | None = None


@dataclass
class Write:
    write_id: str
    practice_id: int
    entity_type: str  # "Patient" | "Appointment"
    operation: Operation
    entity_id: int | None  # the target of an update/delete; the new id of a create once completed
    payload: dict[str, Any]
    due_at: float
    fate: WriteFate = WriteFate()
    read_lag_s: float = 0.0
    status: WriteStatus = WriteStatus.PENDING
    error_code: str | None = None
    reason: str | None = None

    def complete(self, entity_id: int) -> None:
        self._require_pending()
        self.status, self.entity_id = WriteStatus.COMPLETED, entity_id

    def fail(self, error_code: str, reason: str | None = None) -> None:
        self._require_pending()
        self.status, self.error_code = WriteStatus.FAILED, error_code
        self.reason = reason or REASONS.get(error_code, "The write was rejected")

    def _require_pending(self) -> None:
        if self.status is not WriteStatus.PENDING:
            raise RuntimeError(f"write {self.write_id} is already {self.status.value}")

    def as_json(self) -> dict[str, Any]:
        return {
            "WriteId": self.write_id,
            "Status": self.status.value,
            "EntityType": self.entity_type,
            "Operation": self.operation.value,
            "EntityId": self.entity_id,
            "ErrorCode": self.error_code,
            "Reason": self.reason,
        }


Applier = Callable[[Write], int]  # applies a write, returns the entity id; raises WriteRejected


class WriteQueue:
    """Every write of the sandbox, by id; resolves the due ones in acceptance order."""

    def __init__(
        self,
        rng: random.Random,
        delay_ms: tuple[float, float],
        clock: Callable[[], float] = time.monotonic,
        first_id: int = 700_001,
    ) -> None:
        self._rng = rng
        self._delay_ms = delay_ms
        self._clock = clock
        self._next_id = first_id
        self._writes: dict[str, Write] = {}
        self._lock = threading.RLock()

    def accept(
        self,
        practice_id: int,
        entity_type: str,
        operation: Operation,
        entity_id: int | None,
        payload: dict[str, Any],
        *,
        fate: WriteFate = WriteFate(),
        read_lag_s: float = 0.0,
    ) -> Write:
        with self._lock:
            delay = fate.hold_s if fate.hold_s is not None else self._rng.uniform(*self._delay_ms) / 1000
            write = Write(
                write_id=str(self._next_id),
                practice_id=practice_id,
                entity_type=entity_type,
                operation=operation,
                entity_id=entity_id,
                payload=payload,
                due_at=self._clock() + delay,
                fate=fate,
                read_lag_s=read_lag_s,
            )
            self._next_id += 1
            self._writes[write.write_id] = write
            return write

    def get(self, write_id: str) -> Write | None:
        with self._lock:
            return self._writes.get(write_id)

    def all(self) -> list[Write]:
        with self._lock:
            return list(self._writes.values())

    def pending_for(self, entity_type: str, entity_id: int) -> bool:
        """Whether a record already has a write in flight (a second one is refused: RecordLocked)."""
        with self._lock:
            return any(
                w.status is WriteStatus.PENDING and w.entity_type == entity_type and w.entity_id == entity_id
                for w in self._writes.values()
            )

    def settle(self, apply: Applier) -> list[Write]:
        """Resolve every due write, in acceptance order; returns the ones resolved now."""
        with self._lock:
            now = self._clock()
            due = [w for w in self._writes.values() if w.status is WriteStatus.PENDING and w.due_at <= now]
            for write in due:
                if write.fate.error_code is not None:
                    write.fail(write.fate.error_code, write.fate.reason)
                    continue
                try:
                    write.complete(apply(write))
                except WriteRejected as exc:
                    write.fail(exc.error_code)
            return due


class WriteFaultRule(BaseModel):
    """An Eaglesoft-only fault on accepted writes; scope keys as in :class:`adapters.sandbox.faults.FaultRule`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["write_failed", "write_stuck"]
    method: str | None = None
    path: str | None = None
    count: int | None = Field(default=None, ge=1)
    skip: int = Field(default=0, ge=0)
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    duration_s: float | None = Field(default=None, gt=0)
    error_code: str | None = None
    reason: str | None = None
    pending_s: float = Field(default=30.0, ge=0)
    then: Literal["completed", "failed"] = "completed"

    def matches(self, method: str, api_path: str) -> bool:
        if self.method is not None and method.upper() not in self.method.upper().split("|"):
            return False
        return self.path is None or api_path.startswith(self.path)

    def fate(self) -> WriteFate:
        if self.kind == "write_failed":
            return WriteFate(error_code=self.error_code or "RecordLocked", reason=self.reason)
        if self.then == "failed":
            return WriteFate(self.pending_s, self.error_code or "ServerBusy", self.reason)
        return WriteFate(hold_s=self.pending_s)


@dataclass
class _Counted:
    rule: WriteFaultRule
    installed_at: float
    matched: int = 0
    fired: int = 0

    def live(self, now: float) -> bool:
        if self.rule.count is not None and self.fired >= self.rule.count:
            return False
        return self.rule.duration_s is None or now - self.installed_at < self.rule.duration_s


@dataclass
class WriteFaultEngine:
    """The live write-fault plan: the first rule that fires decides a write's fate. Seeded, thread-safe."""

    seed: int = 0
    clock: Callable[[], float] = time.monotonic
    _rules: list[_Counted] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def decide(self, method: str, api_path: str) -> WriteFate:
        with self._lock:
            now = self.clock()
            for counted in self._rules:
                rule = counted.rule
                if not counted.live(now) or not rule.matches(method, api_path):
                    continue
                counted.matched += 1
                if counted.matched <= rule.skip:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                counted.fired += 1
                return rule.fate()
            return WriteFate()

    def replace(self, rules: Iterable[WriteFaultRule], *, seed: int | None = None) -> None:
        with self._lock:
            self.seed = self.seed if seed is None else seed
            self._rng = random.Random(self.seed)
            now = self.clock()
            self._rules = [_Counted(rule, now) for rule in rules]

    def add(self, rule: WriteFaultRule) -> None:
        with self._lock:
            self._rules.append(_Counted(rule, self.clock()))

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            now = self.clock()
            return [
                {
                    **c.rule.model_dump(exclude_defaults=True, mode="json"),
                    "kind": c.rule.kind,
                    "matched": c.matched,
                    "fired": c.fired,
                    "live": c.live(now),
                }
                for c in self._rules
            ]


def parse_write_fault_spec(spec: str) -> WriteFaultRule:
    """``write_failed,error_code=InvalidPatient,count=1`` or ``write_stuck,pending_s=60,then=failed``."""
    kind, *pairs = [part.strip() for part in spec.split(",") if part.strip()]
    values: dict[str, Any] = {"kind": kind}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"fault parameter {key!r} needs a value (key=value)")
        values[key.strip()] = value.strip()
    return WriteFaultRule.model_validate(values)


def is_write_fault(item: str | Mapping[str, Any]) -> bool:
    kind = item.split(",", 1)[0].strip() if isinstance(item, str) else item.get("kind")
    return kind in WRITE_FAULT_KINDS
