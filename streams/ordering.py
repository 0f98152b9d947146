"""Ordering: which commands must run one after another.

Commands about the same subject in one practice are applied in the order produced; everything else may run
concurrently. A subject is what a write changes (a patient, an appointment) or, for a new booking, the
operatory it books: two bookings racing for one chair would both pass the overlap check otherwise.
Reads have no subject: running them out of order cannot change what the PMS holds.
"""

from __future__ import annotations

from streams.envelopes import (
    CommandEnvelope,
    CreateAppointmentPayload,
    UpdateAppointmentPayload,
    UpdatePatientPayload,
)

__all__ = ["subject_of"]


def subject_of(command: CommandEnvelope) -> str | None:
    """The ordering key of ``command`` within its practice, or None when it may run in any order."""
    payload = command.payload
    match payload:
        case UpdatePatientPayload(patient_id=patient_id):
            return f"patient:{patient_id}"
        case UpdateAppointmentPayload(appointment_id=appointment_id):
            return f"appointment:{appointment_id}"
        case CreateAppointmentPayload(appointment=data):
            return f"operatory:{data.operatory_id}"
    return None
