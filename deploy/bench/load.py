"""The burst: which command goes to which practice, in send order. The plan is pure and deterministic;
payloads come from the end-to-end tests' builders and the sandbox's seeded records."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.envelopes import CommandEnvelope, CommandType
from tests.commands import command, payload_for
from tests.contract.harness import KnownRecords

__all__ = ["READS", "WRITES", "Planned", "build_commands", "plan"]

# Reads that reach the PMS on every call (locations and operatories come from the adapter's static cache).
READS = (CommandType.LIST_APPOINTMENTS, CommandType.SEARCH_PATIENTS)
# Writes with no subject (CreatePatient) and with one (CreateAppointment: one operatory per practice, so
# a practice's bookings run one after another, as in production).
WRITES = (CommandType.CREATE_PATIENT, CommandType.CREATE_APPOINTMENT)


@dataclass(frozen=True)
class Planned:
    practice_id: str
    command_type: CommandType


def plan(count: int, practice_ids: Sequence[str], write_share: float = 0.0) -> list[Planned]:
    """``count`` commands spread round-robin over the practices; ``write_share`` of them (evenly spaced)
    are writes. Reads and writes each alternate over their kinds."""
    if not practice_ids:
        raise ValueError("at least one practice")
    if not 0.0 <= write_share <= 1.0:
        raise ValueError("write_share must be within [0, 1]")
    planned, reads, writes = [], 0, 0
    for i in range(count):
        is_write = math.floor((i + 1) * write_share) > math.floor(i * write_share)
        if is_write:
            kind, writes = WRITES[writes % len(WRITES)], writes + 1
        else:
            kind, reads = READS[reads % len(READS)], reads + 1
        planned.append(Planned(practice_ids[i % len(practice_ids)], kind))
    return planned


def build_commands(planned: Sequence[Planned], known: KnownRecords) -> list[CommandEnvelope]:
    return [command(p.practice_id, p.command_type, payload_for(p.command_type, known)) for p in planned]
