"""An in-process PMS that answers at once (or after a fixed delay per practice): the relay measured without
HTTP, so its own cost per command is what the bench sees. Never used in production: the bench's worker entry
(``deploy/bench/instant_worker.py``) hands it to ``topology.build`` through its adapter factory.

Answers are built once per adapter and handed back as they are; a write returns a record carrying its
reference, as a real PMS does, so reconciliation finds what was written.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

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
)
from adapters.sandbox.harness import KnownRecords
from streams.adapter_pool import AdapterFactory
from streams.registry import Practice

__all__ = ["KNOWN", "LATENCY_ENV", "InstantAdapter", "Latencies", "instant_factory"]

# The environment variable the bench's worker reads its PMS latencies from (JSON, see :class:`Latencies`).
LATENCY_ENV = "BENCH_PMS_LATENCY"

# What the command builders (deploy/bench/load.py) need to know of the PMS's records.
KNOWN = KnownRecords(
    dst_location_id="loc-1",
    dst_location_zone="America/New_York",
    operatory_id="op-1",
    provider_id="prov-1",
    patient_id="pat-1",
    patient_last_name="Quill",
    patient_first_name="Avery",
    patient_date_of_birth=date(1988, 4, 12),
    patient_ids_with_last_name=frozenset({"pat-1", "pat-2", "pat-3"}),
)


@dataclass(frozen=True)
class Latencies:
    """Seconds each PMS call takes: ``default``, or a practice's own."""

    default: float = 0.0
    practices: Mapping[str, float] = field(default_factory=dict)

    def of(self, practice_id: str) -> float:
        return self.practices.get(practice_id, self.default)

    def to_json(self) -> str:
        return json.dumps({"default": self.default, "practices": dict(self.practices)})

    @classmethod
    def from_json(cls, text: str | None) -> Latencies:
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(float(raw.get("default", 0.0)), {k: float(v) for k, v in raw.get("practices", {}).items()})


_START = datetime(2027, 1, 4, 14, tzinfo=UTC)


def _patients() -> list[Patient]:
    return [
        Patient(id=pid, first_name="Avery", last_name="Quill", date_of_birth=date(1988, 4, 12))
        for pid in sorted(KNOWN.patient_ids_with_last_name)
    ]


def _appointments() -> list[Appointment]:
    return [
        Appointment(
            id=f"apt-{i}",
            patient_id="pat-1",
            location_id=KNOWN.dst_location_id,
            operatory_id=KNOWN.operatory_id,
            provider_id=KNOWN.provider_id,
            start=_START + timedelta(minutes=45 * i),
            end=_START + timedelta(minutes=45 * i + 30),
            duration_minutes=30,
            status=AppointmentStatus.SCHEDULED,
        )
        for i in range(5)
    ]


class InstantAdapter(PMSInterface):
    kind = "DENTRIX"

    def __init__(self, latency: float = 0.0) -> None:
        self._latency = latency
        self._patients = _patients()
        self._appointments = _appointments()
        self._written: dict[str, Patient | Appointment] = {}

    async def _wait(self) -> None:
        if self._latency > 0:
            await asyncio.sleep(self._latency)

    async def search_patients(self, query: PatientSearchQuery) -> list[Patient]:
        await self._wait()
        return self._patients

    async def create_patient(self, data: PatientCreateData, *, reference: str) -> Patient:
        await self._wait()
        patient = Patient(
            id=f"pat-{reference[:8]}",
            first_name=data.first_name,
            last_name=data.last_name,
            date_of_birth=data.date_of_birth,
            external_reference=reference,
        )
        self._written[reference] = patient
        return patient

    async def update_patient(self, patient_id: str, updates: PatientUpdateData, *, reference: str) -> Patient:
        await self._wait()
        return self._patients[0].model_copy(update={"external_reference": reference})

    async def list_appointments(self, location_id: str | None, date_range: DateRange) -> list[Appointment]:
        await self._wait()
        return self._appointments

    async def create_appointment(self, data: AppointmentCreateData, *, reference: str) -> Appointment:
        await self._wait()
        appointment = Appointment(
            id=f"apt-{reference[:8]}",
            patient_id=data.patient_id,
            location_id=data.location_id,
            operatory_id=data.operatory_id,
            provider_id=data.provider_id,
            start=data.start,
            end=data.end,
            duration_minutes=int((data.end - data.start).total_seconds() // 60),
            status=data.status,
            external_reference=reference,
        )
        self._written[reference] = appointment
        return appointment

    async def update_appointment(
        self, appointment_id: str, updates: AppointmentUpdateData, *, reference: str
    ) -> Appointment:
        await self._wait()
        return self._appointments[0].model_copy(update={"external_reference": reference})

    async def list_locations(self) -> list[Location]:
        return [Location(id=KNOWN.dst_location_id, name="Main", time_zone=KNOWN.dst_location_zone)]

    async def list_operatories(self, location_id: str | None = None) -> list[Operatory]:
        return [Operatory(id=KNOWN.operatory_id, location_id=KNOWN.dst_location_id, name="Op 1")]

    async def validate_connection(self) -> ConnectionStatus:
        return ConnectionStatus(ok=True, pms=self.kind, writable=True)

    async def find_by_reference(self, reference: str) -> Patient | Appointment | None:
        await self._wait()
        return self._written.get(reference)


def instant_factory(latencies: Latencies) -> AdapterFactory:
    """An adapter factory for ``topology.build``: every practice gets an instant adapter."""

    def make(practice: Practice) -> PMSInterface:
        return InstantAdapter(latencies.of(practice.practice_id))

    return make
