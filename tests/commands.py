"""Builders of valid commands for end-to-end tests, one per command type, from a sandbox's known records."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.envelopes import CommandEnvelope, CommandType
from tests.contract.harness import KnownRecords

__all__ = ["command", "free_slot", "payload_for"]

_SLOTS = random.Random()


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
    """A weekday slot in 2027, far from every seeded appointment and, with 1-in-50,000 odds, from each other."""
    day = datetime(2027, 1, 4, tzinfo=UTC) + timedelta(
        days=7 * _SLOTS.randrange(0, 40) + _SLOTS.randrange(0, 5)
    )
    start = day + timedelta(hours=14, minutes=5 * _SLOTS.randrange(0, 60))
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
