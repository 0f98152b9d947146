"""Dispatch: one command's payload becomes one call on the practice's adapter, and its answer a result payload.

The only place that knows which adapter operation serves which command type. Writes pass the command id as
the ``reference`` the adapter stores in the PMS record, so an unknown outcome can be reconciled later.
"""

from __future__ import annotations

from pydantic import BaseModel

from adapters.contract import PMSInterface
from adapters.domain import Appointment, Patient
from schemas.envelopes import (
    AppointmentList,
    CommandEnvelope,
    CommandType,
    CreateAppointmentPayload,
    CreatePatientPayload,
    ListAppointmentsPayload,
    ListLocationsPayload,
    ListOperatoriesPayload,
    LocationList,
    OperatoryList,
    PatientList,
    SearchPatientsPayload,
    UpdateAppointmentPayload,
    UpdatePatientPayload,
    ValidateConnectionPayload,
)

__all__ = ["WRITES", "dispatch", "is_write", "reconciled_payload"]

WRITES = frozenset(
    {
        CommandType.CREATE_PATIENT,
        CommandType.UPDATE_PATIENT,
        CommandType.CREATE_APPOINTMENT,
        CommandType.UPDATE_APPOINTMENT,
    }
)
"""Commands that change the PMS: the ones that must never be applied twice."""


def is_write(command_type: CommandType) -> bool:
    return command_type in WRITES


async def dispatch(adapter: PMSInterface, command: CommandEnvelope) -> BaseModel:
    """Run ``command`` on ``adapter`` and return the result payload its type promises."""
    payload = command.payload
    reference = str(command.command_id)
    match payload:
        case SearchPatientsPayload(query=query):
            return PatientList(patients=tuple(await adapter.search_patients(query)))
        case CreatePatientPayload(patient=data):
            return await adapter.create_patient(data, reference=reference)
        case UpdatePatientPayload(patient_id=patient_id, updates=updates):
            return await adapter.update_patient(patient_id, updates, reference=reference)
        case ListAppointmentsPayload(location_id=location_id, range=date_range):
            found = await adapter.list_appointments(location_id, date_range)
            return AppointmentList(appointments=tuple(found))
        case CreateAppointmentPayload(appointment=data):
            return await adapter.create_appointment(data, reference=reference)
        case UpdateAppointmentPayload(appointment_id=appointment_id, updates=updates):
            return await adapter.update_appointment(appointment_id, updates, reference=reference)
        case ListLocationsPayload():
            return LocationList(locations=tuple(await adapter.list_locations()))
        case ListOperatoriesPayload(location_id=location_id):
            return OperatoryList(operatories=tuple(await adapter.list_operatories(location_id)))
        case ValidateConnectionPayload():
            return await adapter.validate_connection()
    raise TypeError(f"no dispatch for payload {type(payload).__name__}")  # pragma: no cover - exhaustive


def reconciled_payload(command: CommandEnvelope, found: Patient | Appointment | None) -> BaseModel | None:
    """The result payload of a write found in the PMS by its reference, if it is the kind the command makes."""
    wanted = (
        Patient
        if command.command_type in {CommandType.CREATE_PATIENT, CommandType.UPDATE_PATIENT}
        else Appointment
    )
    return found if isinstance(found, wanted) else None
