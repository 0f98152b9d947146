"""Ordering: which commands must run one after another.

Commands about the same subject in one practice are applied in the order produced; everything else may run
concurrently. A subject is what a write changes (a patient, an appointment) or, for a new booking, the
operatory it books: two bookings racing for one chair would both pass the overlap check otherwise.
Reads have no subject: running them out of order cannot change what the PMS holds.

Across retries the order is kept by the ``subjects`` table: a later command follows the earliest one still in
a retry tier (the head) into its tier. A head is expected back within its tier's delay; one not seen for
``2 * delay + HEAD_GRACE_SECONDS`` is taken as lost or stuck (say, its copy was dropped by an operator) and
released, so its followers go on. That is the bound on how long a follower waits behind a silent head.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from schemas.envelopes import (
    CommandEnvelope,
    CreateAppointmentPayload,
    UpdateAppointmentPayload,
    UpdatePatientPayload,
)

__all__ = ["HEAD_GRACE_SECONDS", "head_overdue", "subject_of"]

# Covers a worker restart, a rebalance and the lag of a busy tier on top of the tier's own delay.
HEAD_GRACE_SECONDS = 120.0


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


def head_overdue(head: Mapping[str, Any], *, now: float, delays: Sequence[float]) -> bool:
    """Whether a subject's head, last held at ``head["at"]`` in tier ``head["tier"]``, is past its bound.

    Entries written before heads carried ``at`` are never overdue (they are released by their answer).
    """
    at = head.get("at")
    if at is None:
        return False
    tier = min(max(int(head.get("tier", 0)), 0), len(delays) - 1)
    return now - float(at) > 2 * delays[tier] + HEAD_GRACE_SECONDS
