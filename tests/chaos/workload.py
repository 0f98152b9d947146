"""What a chaos run sends, in send order: valid commands (reads and writes over every practice of the cast)
with malformed messages mixed in. Pure and deterministic from a seed: no I/O, nothing random outside ``rng``.

Writes are chosen so that each one's effect is attributable in the sandbox's read-out: every booking and
every move takes a slot of its own (45 minutes apart, never overlapping another), and every update changes a
seeded record that no other command of the run touches (:class:`~tests.chaos.cast.Pools`). When a pool runs
dry, the update becomes a create of the same kind.
"""

from __future__ import annotations

import io
import json
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from adapters.errors import ErrorCode
from schemas import default_catalog
from schemas.codec import Codec
from schemas.envelopes import CommandEnvelope, CommandType, ErrorEnvelope
from tests.chaos.cast import Cast, Pools, Stage

__all__ = ["WRITE_TYPES", "Malformed", "Planned", "Target", "Workload", "build_workload"]

WRITE_TYPES = (
    CommandType.CREATE_PATIENT,
    CommandType.UPDATE_PATIENT,
    CommandType.CREATE_APPOINTMENT,
    CommandType.UPDATE_APPOINTMENT,
)
# Reads weighted towards the ones that reach the PMS on every call (locations and operatories are cached).
_READS = (
    (CommandType.SEARCH_PATIENTS, 35),
    (CommandType.LIST_APPOINTMENTS, 35),
    (CommandType.LIST_LOCATIONS, 10),
    (CommandType.LIST_OPERATORIES, 10),
    (CommandType.VALIDATE_CONNECTION, 10),
)
# Far from every seeded appointment (2026) and from the slots tests/commands.py hands out (2027 on).
_FIRST_SLOT = datetime(2028, 1, 3, 14, tzinfo=UTC)


@dataclass(frozen=True)
class Target:
    """The seeded record an update changes: the read-out counts how often it was written."""

    vendor: str
    resource: str  # "patients" | "appointments"
    record_id: str


@dataclass(frozen=True)
class Planned:
    command: CommandEnvelope
    target: Target | None = None

    @property
    def command_id(self) -> str:
        return str(self.command.command_id)

    @property
    def is_write(self) -> bool:
        return self.command.command_type in WRITE_TYPES


@dataclass(frozen=True)
class Malformed:
    """Input the relay cannot decode; it must answer VALIDATION (its ce_id comes from where it was read)."""

    label: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Workload:
    items: tuple[Planned | Malformed, ...]  # in send order

    @property
    def commands(self) -> list[Planned]:
        return [item for item in self.items if isinstance(item, Planned)]

    @property
    def malformed(self) -> list[Malformed]:
        return [item for item in self.items if isinstance(item, Malformed)]


def build_workload(
    cast: Cast,
    *,
    commands: int,
    malformed: int,
    seed: int,
    write_share: float = 0.2,
    codec: Codec | None = None,
) -> Workload:
    rng = random.Random(seed)
    codec = codec or Codec()
    builder = _Builder(cast.pools(), rng)
    planned = [builder.next(rng.choice(cast.stages), rng.random() < write_share) for _ in range(commands)]
    bad = list(_malformed(malformed, cast.stages, rng, codec))
    positions = set(rng.sample(range(commands + len(bad)), len(bad)))
    items: list[Planned | Malformed] = []
    good, odd = iter(planned), iter(bad)
    for index in range(commands + len(bad)):
        items.append(next(odd) if index in positions else next(good))
    return Workload(tuple(items))


class _Builder:
    def __init__(self, pools: Pools, rng: random.Random) -> None:
        self._pools = pools
        self._rng = rng
        self._slots = 0
        self._writes = 0

    def next(self, stage: Stage, write: bool) -> Planned:
        if write:
            kind = WRITE_TYPES[self._writes % len(WRITE_TYPES)]
            self._writes += 1
            return self._write(stage, kind)
        kind = self._rng.choices([k for k, _ in _READS], [w for _, w in _READS])[0]
        return Planned(_command(stage, kind, self._read_payload(stage, kind)))

    def _slot(self) -> tuple[datetime, datetime]:
        n, self._slots = self._slots, self._slots + 1
        start = _FIRST_SLOT + timedelta(days=n // 8, minutes=45 * (n % 8))
        return start, start + timedelta(minutes=30)

    def _write(self, stage: Stage, kind: CommandType) -> Planned:
        if kind is CommandType.UPDATE_PATIENT:
            patient = self._pools.take_patient(stage.patient_pool)
            if patient is None:
                return self._write(stage, CommandType.CREATE_PATIENT)
            updates = {"preferred_name": f"Chaos{self._rng.randrange(10**6)}"}
            payload = {"patient_id": patient, "updates": updates}
            return Planned(_command(stage, kind, payload), Target(stage.vendor, "patients", patient))
        if kind is CommandType.UPDATE_APPOINTMENT:
            appointment = self._pools.take_appointment(stage.appointment_pool)
            if appointment is None:
                return self._write(stage, CommandType.CREATE_APPOINTMENT)
            payload = {"appointment_id": appointment, "updates": self._appointment_updates()}
            return Planned(_command(stage, kind, payload), Target(stage.vendor, "appointments", appointment))
        if kind is CommandType.CREATE_PATIENT:
            person = {
                "first_name": "Avery",
                "last_name": f"Chaos{uuid.UUID(int=self._rng.getrandbits(128)).hex[:8]}",
                "date_of_birth": "1988-04-12",
            }
            return Planned(_command(stage, kind, {"patient": person}))
        start, end = self._slot()
        booking = {
            "patient_id": self._rng.choice(stage.patient_ids),
            "location_id": stage.location_id,
            "operatory_id": self._rng.choice(stage.operatory_ids),
            "provider_id": stage.provider_id,
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
        return Planned(_command(stage, kind, {"appointment": booking}))

    def _appointment_updates(self) -> dict[str, Any]:
        """Half the updates move the appointment to a slot of its own, half confirm it."""
        if self._rng.random() < 0.5:
            return {"status": "CONFIRMED"}
        start, end = self._slot()
        return {"start": start.isoformat(), "end": end.isoformat()}

    def _read_payload(self, stage: Stage, kind: CommandType) -> dict[str, Any]:
        if kind is CommandType.SEARCH_PATIENTS:
            return {"query": {"last_name": self._rng.choice(stage.last_names)}}
        if kind is CommandType.LIST_APPOINTMENTS:
            day = datetime.combine(stage.anchor, datetime.min.time(), UTC) + timedelta(
                days=self._rng.randrange(-7, 14)
            )
            return {
                "location_id": stage.location_id,
                "range": {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()},
            }
        if kind is CommandType.LIST_OPERATORIES:
            return {"location_id": stage.location_id}
        return {}


def _command(stage: Stage, kind: CommandType, payload: dict[str, Any]) -> CommandEnvelope:
    return CommandEnvelope.model_validate(
        {
            "command_id": uuid.uuid4(),
            "command_type": kind,
            "practice_id": stage.practice_id,
            "issued_at": datetime.now(UTC),
            "requested_by": "chaos",
            "payload": payload,
        }
    )


# ---- malformed input ---------------------------------------------------------------------------------------


def _malformed(count: int, stages: Sequence[Stage], rng: random.Random, codec: Codec) -> Iterator[Malformed]:
    makers = (
        _garbage,
        _empty,
        _tombstone,
        _unknown_fingerprint,
        _truncated,
        _trailing_bytes,
        _error_schema,
        _json_text,
        _reversed_range,
        _type_mismatch,
        _wrong_content_type,
        _keyless_garbage,
    )
    for index in range(count):
        stage = stages[index % len(stages)]
        yield makers[index % len(makers)](stage, rng, codec)


def _headers(message: Any) -> tuple[tuple[str, bytes], ...]:
    return tuple((k, v) for k, v in message.headers if v is not None)


def _valid(stage: Stage, codec: Codec) -> Any:
    return codec.encode_command(_command(stage, CommandType.LIST_LOCATIONS, {}))


def _garbage(stage: Stage, rng: random.Random, codec: Codec) -> Malformed:
    return Malformed("garbage", stage.practice_id.encode(), b"\x00" + rng.randbytes(rng.randrange(4, 60)))


def _keyless_garbage(stage: Stage, rng: random.Random, codec: Codec) -> Malformed:
    return Malformed("keyless-garbage", None, rng.randbytes(rng.randrange(4, 60)))


def _empty(stage: Stage, rng: random.Random, codec: Codec) -> Malformed:
    return Malformed("empty", stage.practice_id.encode(), b"")


def _tombstone(stage: Stage, rng: random.Random, codec: Codec) -> Malformed:
    return Malformed("tombstone", stage.practice_id.encode(), None)


def _unknown_fingerprint(stage: Stage, rng: random.Random, codec: Codec) -> Malformed:
    return Malformed("unknown-fingerprint", stage.practice_id.encode(), b"\xc3\x01" + rng.randbytes(8) + b"x")


def _truncated(stage: Stage, rng: random.Random, codec: Codec) -> Malformed:
    valid = _valid(stage, codec)
    return Malformed("truncated", valid.key, valid.value[: len(valid.value) // 2], _headers(valid))


def _trailing_bytes(stage: Stage, rng: random.Random, codec: Codec) -> Malformed:
    valid = _valid(stage, codec)
    return Malformed("trailing-bytes", valid.key, valid.value + b"\x00\x02", _headers(valid))


def _error_schema(stage: Stage, rng: random.Random, codec: Codec) -> Malformed:
    """A well-formed event of another schema (an error event) on the commands topic."""
    error = ErrorEnvelope(
        code=ErrorCode.UNAVAILABLE, retryable=True, message="not a command", failed_at=datetime.now(UTC)
    )
    encoded = codec.encode_error(error)
    return Malformed("error-schema", stage.practice_id.encode(), encoded.value, _headers(encoded))


def _json_text(stage: Stage, rng: random.Random, codec: Codec) -> Malformed:
    body = {"command_id": str(uuid.UUID(int=rng.getrandbits(128))), "command_type": "ListLocations"}
    return Malformed("json", stage.practice_id.encode(), json.dumps(body).encode())


def _wrong_content_type(stage: Stage, rng: random.Random, codec: Codec) -> Malformed:
    valid = _valid(stage, codec)
    headers = tuple((k, b"application/json" if k == "content-type" else v) for k, v in _headers(valid))
    return Malformed("wrong-content-type", valid.key, valid.value, headers)


def _rewritten(
    stage: Stage, codec: Codec, kind: CommandType, payload: dict[str, Any], change: Any
) -> Malformed:
    """A command re-encoded after ``change(record)``: schema-valid Avro that the relay must still refuse."""
    valid = codec.encode_command(_command(stage, kind, payload))
    writer = default_catalog().current("Command")
    record = schemaless_reader(io.BytesIO(valid.value[10:]), writer.parsed, None, return_record_name=True)
    label = change(record)
    out = io.BytesIO()
    schemaless_writer(out, writer.parsed, record)
    return Malformed(label, valid.key, valid.value[:10] + out.getvalue(), _headers(valid))


def _reversed_range(stage: Stage, rng: random.Random, codec: Codec) -> Malformed:
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    payload = {
        "location_id": stage.location_id,
        "range": {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()},
    }

    def reverse(record: dict[str, Any]) -> str:
        name, body = record["payload"]
        body["range"]["end"] = start - timedelta(hours=1)
        record["payload"] = (name, body)
        return "reversed-range"

    return _rewritten(stage, codec, CommandType.LIST_APPOINTMENTS, payload, reverse)


def _type_mismatch(stage: Stage, rng: random.Random, codec: Codec) -> Malformed:
    def mismatch(record: dict[str, Any]) -> str:
        record["command_type"] = CommandType.CREATE_PATIENT.value
        return "type-mismatch"

    return _rewritten(stage, codec, CommandType.LIST_LOCATIONS, {}, mismatch)
