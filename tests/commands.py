"""Builders of valid commands for end-to-end tests, one per command type, from a sandbox's known records."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.sandbox.harness import KnownRecords
from schemas.envelopes import CommandEnvelope, CommandType

__all__ = ["command", "free_slot", "payload_for"]

# Every slot handed out in this process is distinct and never overlaps another (45 minutes apart,
# eight a day), so bookings made by different tests never conflict in the one operatory they share.
_SLOTS = itertools.count()


def command(
    practice_id: str, command_type: CommandType | str, payload: dict[str, Any], **fields: Any
) -> CommandEnvelope:
    return CommandEnvelope.model_validate(
        {
            "command_id": fields.pop("command_id", uuid.uuid4()),
            "command_type": CommandType(command_type),
            "practice_id": practice_id,
            "issued_at": fields.pop("issued_at", datetime.now(UTC)),
            "payload": payload,
            **fields,
        }
    )


def free_slot(minutes: int = 30) -> tuple[datetime, datetime]:
    """A slot from 2027 on, far from every seeded appointment and from every other slot of this process."""
    if minutes > 45:
        raise ValueError("slots are 45 minutes apart")
    n = next(_SLOTS)
    start = datetime(2027, 1, 4, 14, tzinfo=UTC) + timedelta(days=n // 8, minutes=45 * (n % 8))
    return start, start + timedelta(minutes=minutes)


def payload_for(
    command_type: CommandType, known: KnownRecords, *, appointment_id: str | None = None
) -> dict[str, Any]:
    start, end = free_slot()
    anchor = datetime(2026, 3, 2, tzinfo=UTC)
    payloads: dict[CommandType, dict[str, Any]] = {
        CommandType.SEARCH_PATIENTS: {"query": {"last_name": known.patient_last_name}},
        CommandType.CREATE_PATIENT: {
            "patient": {
                "first_name": "Avery",
                "last_name": f"Quill{uuid.uuid4().hex[:6]}",
                "date_of_birth": "1988-04-12",
            }
        },
        CommandType.UPDATE_PATIENT: {"patient_id": known.patient_id, "updates": {"preferred_name": "Sunny"}},
        CommandType.LIST_APPOINTMENTS: {
            "location_id": known.dst_location_id,
            "range": {"start": anchor.isoformat(), "end": (anchor + timedelta(days=7)).isoformat()},
        },
        CommandType.CREATE_APPOINTMENT: {
            "appointment": {
                "patient_id": known.patient_id,
                "location_id": known.dst_location_id,
                "operatory_id": known.operatory_id,
                "provider_id": known.provider_id,
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
        },
        CommandType.UPDATE_APPOINTMENT: {
            "appointment_id": appointment_id or "0",
            "updates": {"start": start.isoformat(), "end": end.isoformat()},
        },
        CommandType.LIST_LOCATIONS: {},
        CommandType.LIST_OPERATORIES: {"location_id": known.dst_location_id},
        CommandType.VALIDATE_CONNECTION: {},
    }
    return payloads[command_type]
