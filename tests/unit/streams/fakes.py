"""Hand-written fakes for the stream layer: a fake clock, a recording outbox, a scriptable adapter, and a
harness that wires a real :class:`Processor` over plain dicts and feeds retry copies back in due order."""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.contract import PMSInterface
from adapters.domain import (
    Appointment,
    AppointmentCreateData,
    AppointmentStatus,
    AppointmentUpdateData,
    ConnectionStatus,
    DateRange,
    Location,
    Operatory,
    Patient,
    PatientCreateData,
    PatientSearchQuery,
    PatientUpdateData,
    Phone,
    PmsKind,
)
from schemas.codec import Codec, EncodedMessage
from schemas.envelopes import (
    CommandEnvelope,
    CommandPayload,
    CommandType,
    CreateAppointmentPayload,
    CreatePatientPayload,
    ErrorEnvelope,
    ListAppointmentsPayload,
    ListLocationsPayload,
    ListOperatoriesPayload,
    ResultEnvelope,
    SearchPatientsPayload,
    UpdateAppointmentPayload,
    UpdatePatientPayload,
    ValidateConnectionPayload,
)
from streams.circuit import CircuitBoard, Transition
from streams.hops import Hop, read_hop
from streams.observer import Observer
from streams.outbound import Routes
from streams.pipeline import Pipeline, PipelineSettings
from streams.received import Incoming, read
from streams.registry import Registry, parse_registry
from streams.retry import RetryTiers
from streams.tracing import TracingObserver
from topology import TopicNames

CODEC = Codec()
NAMES = TopicNames()
ROUTES = Routes(NAMES.results, NAMES.errors, NAMES.retries, NAMES.dead_letters)

DENTRIX = "smile-nyc"
EAGLESOFT = "grin-chi"
SECRET = "s3cr3t-value-never-printed"
ENVIRON = {"SMILE_SECRET": SECRET, "GRIN_KEY": SECRET, "GRIN_PASSWORD": SECRET}

# Patient data planted in commands: none of it may show up in logs, error messages or hop headers.
FIRST, LAST, EMAIL, PHONE = "Zephyrine", "Quillfeather", "zq.marker@example.invalid", "555-0199"
DOB = date(1971, 7, 13)
NOTES = "penicillin-allergy-marker"
PATIENT_DATA = (FIRST, LAST, EMAIL, PHONE, DOB.isoformat(), NOTES)


def registry_document(**circuit: float) -> dict[str, Any]:
    return {
        "defaults": {"dentrix": {"circuit": {"fail_max": 3, "reset_timeout_seconds": 30, **circuit}}},
        "practices": {
            DENTRIX: {
                "pms": "dentrix",
                "time_zone": "America/New_York",
                "connection": {
                    "base_url": "https://ascend.invalid",
                    "organization_id": "0123456789abcdef01234567",
                    "client_id": "client-1",
                    "client_secret": {"env": "SMILE_SECRET"},
                },
            },
            EAGLESOFT: {
                "pms": "eaglesoft",
                "time_zone": "America/Chicago",
                "connection": {
                    "base_url": "https://es.invalid:9888",
                    "practice_id": "1",
                    "integration_key": {"env": "GRIN_KEY"},
                    "user_id": "relay",
                    "password": {"env": "GRIN_PASSWORD"},
                },
            },
        },
    }


def make_registry(**circuit: float) -> Registry:
    return parse_registry(registry_document(**circuit), environ=ENVIRON, base_dir=Path("."))


class FakeClock:
    """Epoch seconds that move only when a test moves them (anchored at the real time: pybreaker stamps
    ``opened_at`` with ``datetime.now``)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def set(self, instant: datetime) -> None:
        self.now = max(self.now, instant.timestamp())


@dataclass(frozen=True)
class Sent:
    topic: str
    message: EncodedMessage
    partition: int | None

    @property
    def hop(self) -> Hop | None:
        return read_hop(self.message.headers)

    def header(self, name: str) -> str | None:
        for key, value in self.message.headers:
            if key == name:
                return value.decode()
        return None


class RecordingOutbox:
    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.durable_calls = 0

    async def send(self, topic: str, message: EncodedMessage, partition: int | None = None) -> None:
        self.sent.append(Sent(topic, message, partition))

    async def durable(self) -> None:
        self.durable_calls += 1


def _patient(patient_id: str = "P-1", reference: str | None = None) -> Patient:
    return Patient(
        id=patient_id, first_name=FIRST, last_name=LAST, date_of_birth=DOB, external_reference=reference
    )


T0 = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)


def _appointment(appointment_id: str = "A-1", reference: str | None = None) -> Appointment:
    return Appointment(
        id=appointment_id,
        patient_id="P-1",
        location_id="L-1",
        operatory_id="O-1",
        start=T0,
        end=T0 + timedelta(minutes=30),
        duration_minutes=30,
        status=AppointmentStatus.SCHEDULED,
        notes=NOTES,
        external_reference=reference,
    )


class FakeAdapter(PMSInterface):
    """Records every call; each method returns (or raises) what the test scripted, else a default."""

    def __init__(self, kind: PmsKind) -> None:
        self.kind = kind
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.script: dict[str, list[Any]] = defaultdict(list)
        self.on_call: Callable[[str, tuple[Any, ...]], None] | None = None
        self.found: Patient | Appointment | None = None

    def will(self, method: str, *outcomes: Any) -> None:
        """Queue outcomes for ``method``: an exception is raised, anything else returned."""
        self.script[method].extend(outcomes)

    def called(self, method: str) -> list[tuple[Any, ...]]:
        return [args for name, args in self.calls if name == method]

    async def _call(self, method: str, args: tuple[Any, ...], default: Any) -> Any:
        self.calls.append((method, args))
        if self.on_call is not None:
            self.on_call(method, args)
        if self.script[method]:
            outcome = self.script[method].pop(0)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        return default

    async def search_patients(self, query: PatientSearchQuery) -> list[Patient]:
        result: list[Patient] = await self._call("search_patients", (query,), [_patient()])
        return result

    async def create_patient(self, data: PatientCreateData, *, reference: str) -> Patient:
        result: Patient = await self._call("create_patient", (data, reference), _patient("P-9", reference))
        return result

    async def update_patient(self, patient_id: str, updates: PatientUpdateData, *, reference: str) -> Patient:
        result: Patient = await self._call(
            "update_patient", (patient_id, updates, reference), _patient(patient_id, reference)
        )
        return result

    async def list_appointments(self, location_id: str | None, date_range: DateRange) -> list[Appointment]:
        result: list[Appointment] = await self._call(
            "list_appointments", (location_id, date_range), [_appointment()]
        )
        return result

    async def create_appointment(self, data: AppointmentCreateData, *, reference: str) -> Appointment:
        result: Appointment = await self._call(
            "create_appointment", (data, reference), _appointment("A-9", reference)
        )
        return result

    async def update_appointment(
        self, appointment_id: str, updates: AppointmentUpdateData, *, reference: str
    ) -> Appointment:
        result: Appointment = await self._call(
            "update_appointment",
            (appointment_id, updates, reference),
            _appointment(appointment_id, reference),
        )
        return result

    async def list_locations(self) -> list[Location]:
        default = [Location(id="L-1", name="Main", time_zone="America/New_York")]
        result: list[Location] = await self._call("list_locations", (), default)
        return result

    async def list_operatories(self, location_id: str | None = None) -> list[Operatory]:
        default = [Operatory(id="O-1", location_id="L-1", name="Op 1")]
        result: list[Operatory] = await self._call("list_operatories", (location_id,), default)
        return result

    async def validate_connection(self) -> ConnectionStatus:
        default = ConnectionStatus(ok=True, pms=self.kind, writable=True)
        result: ConnectionStatus = await self._call("validate_connection", (), default)
        return result

    async def find_by_reference(self, reference: str) -> Patient | Appointment | None:
        result: Patient | Appointment | None = await self._call("find_by_reference", (reference,), self.found)
        return result


# -- commands ---------------------------------------------------------------------------------------------

PAYLOADS: dict[CommandType, CommandPayload] = {
    CommandType.SEARCH_PATIENTS: SearchPatientsPayload(
        query=PatientSearchQuery(
            first_name=FIRST, last_name=LAST, date_of_birth=DOB, phone=PHONE, email=EMAIL
        )
    ),
    CommandType.CREATE_PATIENT: CreatePatientPayload(
        patient=PatientCreateData(
            first_name=FIRST, last_name=LAST, date_of_birth=DOB, phones=(Phone(number=PHONE),), email=EMAIL
        )
    ),
    CommandType.UPDATE_PATIENT: UpdatePatientPayload(
        patient_id="P-1", updates=PatientUpdateData(last_name=LAST, email=EMAIL)
    ),
    CommandType.LIST_APPOINTMENTS: ListAppointmentsPayload(
        location_id="L-1", range=DateRange(start=T0, end=T0 + timedelta(days=1))
    ),
    CommandType.CREATE_APPOINTMENT: CreateAppointmentPayload(
        appointment=AppointmentCreateData(
            patient_id="P-1",
            location_id="L-1",
            operatory_id="O-1",
            start=T0,
            end=T0 + timedelta(minutes=30),
            notes=NOTES,
        )
    ),
    CommandType.UPDATE_APPOINTMENT: UpdateAppointmentPayload(
        appointment_id="A-1", updates=AppointmentUpdateData(notes=NOTES)
    ),
    CommandType.LIST_LOCATIONS: ListLocationsPayload(),
    CommandType.LIST_OPERATORIES: ListOperatoriesPayload(location_id="L-1"),
    CommandType.VALIDATE_CONNECTION: ValidateConnectionPayload(),
}


def command(
    command_type: CommandType,
    *,
    practice_id: str = DENTRIX,
    expires_at: datetime | None = None,
    payload: CommandPayload | None = None,
) -> CommandEnvelope:
    return CommandEnvelope(
        command_id=uuid.uuid4(),
        command_type=command_type,
        practice_id=practice_id,
        issued_at=T0 - timedelta(days=365),
        expires_at=expires_at,
        payload=payload if payload is not None else PAYLOADS[command_type],
    )


def update_appointment(appointment_id: str, notes: str = "moved") -> CommandEnvelope:
    payload = UpdateAppointmentPayload(
        appointment_id=appointment_id, updates=AppointmentUpdateData(notes=notes)
    )
    return command(CommandType.UPDATE_APPOINTMENT, payload=payload)


# -- the harness ------------------------------------------------------------------------------------------


@dataclass
class Harness:
    """A real Processor over dicts; ``pending`` holds retry copies not yet fed back."""

    clock: FakeClock
    registry: Registry = field(default_factory=make_registry)
    tiers: RetryTiers = field(default_factory=RetryTiers)
    reconcile_grace_seconds: float = 30.0
    max_age_seconds: float = 3600.0
    inbox: dict[str, Any] = field(default_factory=dict)
    subjects: dict[str, Any] = field(default_factory=dict)
    circuit_table: dict[str, Any] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    outbox: RecordingOutbox = field(default_factory=RecordingOutbox)
    pending: list[Sent] = field(default_factory=list)
    observer: Observer = field(default_factory=lambda: TracingObserver("pms-relay"))

    def __post_init__(self) -> None:
        self.adapters = {
            DENTRIX: FakeAdapter("DENTRIX"),
            EAGLESOFT: FakeAdapter("EAGLESOFT"),
        }
        self.board = CircuitBoard(self.circuit_table, notify=self.transitions.append, clock=self.clock)
        self.pipeline = Pipeline(
            settings=PipelineSettings(
                routes=ROUTES,
                tiers=self.tiers,
                reconcile_grace_seconds=self.reconcile_grace_seconds,
                max_age_seconds=self.max_age_seconds,
            ),
            registry=self.registry,
            adapter_for=lambda practice: self.adapters[practice.practice_id],
            codec=CODEC,
            inbox=self.inbox,
            subjects=self.subjects,
            circuits=self.board,
            outbox=self.outbox,
            observer=self.observer,
            clock=self.clock,
        )
        self._offsets = itertools.count(100)

    @property
    def dentrix(self) -> FakeAdapter:
        return self.adapters[DENTRIX]

    def original(self, envelope: CommandEnvelope, *, partition: int = 3) -> Incoming:
        encoded = CODEC.encode_command(envelope)
        return self.raw(encoded.value, encoded.headers, encoded.key, partition=partition)

    def raw(
        self,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
        key: bytes | None = None,
        *,
        partition: int = 3,
        topic: str = NAMES.commands,
    ) -> Incoming:
        return Incoming(topic, partition, next(self._offsets), key, value, list(headers or []))

    async def feed(self, message: Incoming, *, defer: bool = False) -> list[Sent]:
        """Handle ``message``; return what it sent, and keep its retry copies pending."""
        before = len(self.outbox.sent)
        await self.pipeline.handle(read(message, CODEC), defer=defer)
        sent = self.outbox.sent[before:]
        self.pending += [s for s in sent if s.topic in NAMES.retries]
        return sent

    async def send(self, envelope: CommandEnvelope, *, partition: int = 3) -> list[Sent]:
        return await self.feed(self.original(envelope, partition=partition))

    def as_incoming(self, copy: Sent) -> Incoming:
        """A retry copy as the retries agent reads it: from the partition it was sent to."""
        assert copy.partition is not None
        return Incoming(
            copy.topic,
            copy.partition,
            next(self._offsets),
            copy.message.key,
            copy.message.value,
            copy.message.headers,
        )

    async def next_due(self) -> list[Sent]:
        """Feed the earliest due pending copy, at its due time (never early)."""
        copy = min(self.pending, key=lambda s: (_due(s), self.pending.index(s)))
        self.pending.remove(copy)
        self.clock.set(_due(copy))
        return await self.feed(self.as_incoming(copy))

    async def drain(self, limit: int = 50) -> None:
        for _ in range(limit):
            if not self.pending:
                return
            await self.next_due()
        raise AssertionError("retry copies keep coming")

    # -- reading what was sent ----------------------------------------------------------------------------

    def on(self, topic: str) -> list[Sent]:
        return [s for s in self.outbox.sent if s.topic == topic]

    def results(self) -> list[ResultEnvelope]:
        return [
            CODEC.decode_result(s.message.value, s.message.headers, s.message.key)
            for s in self.on(NAMES.results)
        ]

    def errors(self) -> list[ErrorEnvelope]:
        return [
            CODEC.decode_error(s.message.value, s.message.headers, s.message.key)
            for s in self.on(NAMES.errors)
        ]

    def retries(self) -> list[Sent]:
        return [s for s in self.outbox.sent if s.topic in NAMES.retries]


def _due(copy: Sent) -> datetime:
    hop = copy.hop
    if hop is None or hop.due_at is None:
        raise AssertionError("a retry copy carries its due time")
    return hop.due_at
