"""Dead-letter redrive: putting a dead-lettered command back on pms.commands, once its cause is fixed.

A redrive copy is the dead letter's key and value with its CloudEvents and trace headers, minus the journey
headers (attempts start again), plus ``pms-redrive: <redrive id>``. The worker reopens a command that was
answered with an error when a copy carries a redrive id it has not seen for it: a read runs again; a write
is first reconciled with ``find_by_reference`` (it may have been applied before it was dead-lettered) and is
written only if the PMS does not have it. A copy whose redrive id the inbox already holds is answered from
the inbox, so replaying one redrive twice does nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from schemas import cloudevents as ce
from streams.hops import Hop, read_hop

__all__ = ["REDRIVE", "DeadLetterRecord", "read_dead_letter", "redrive_copy", "redrive_id"]

REDRIVE = "pms-redrive"
_JOURNEY = "pms-"

Headers = Sequence[tuple[str, bytes | None]]


@dataclass(frozen=True)
class DeadLetterRecord:
    """What a dead letter says about itself, from its headers alone (its value is never decoded here)."""

    partition: int
    offset: int
    key: bytes | None
    command_id: str | None
    command_type: str | None
    hop: Hop | None


def read_dead_letter(
    partition: int, offset: int, key: bytes | None, headers: Headers | None
) -> DeadLetterRecord:
    return DeadLetterRecord(
        partition=partition,
        offset=offset,
        key=key,
        command_id=ce.header(headers, "ce_id"),
        command_type=ce.command_type_of(ce.header(headers, "ce_type")),
        hop=read_hop(headers),
    )


def redrive_copy(headers: Headers | None, redrive: str) -> list[tuple[str, bytes]]:
    """The headers of a redrive copy: the dead letter's own, without its journey, marked with ``redrive``."""
    kept = [(k, v) for k, v in headers or () if v is not None and not k.startswith(_JOURNEY)]
    return [*kept, (REDRIVE, redrive.encode())]


def redrive_id(headers: Headers | None) -> str | None:
    return ce.header(headers, REDRIVE)
