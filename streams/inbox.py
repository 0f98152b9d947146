"""Idempotency: the inbox table, keyed by command id, records how far each command got.

``IN_FLIGHT`` is made durable before a write reaches the PMS; ``DONE`` keeps the answer. A command seen
again is answered from the inbox (``DONE``), reconciled against the PMS (``IN_FLIGHT`` write: its outcome is
unknown), dropped (an older copy of a command whose newer copy waits in a retry tier), or processed.
Entries are plain JSON-able dicts so the Faust changelog stores them without a custom codec.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

__all__ = ["InboxEntry", "Phase", "StoredAnswer"]


class Phase(StrEnum):
    IN_FLIGHT = "IN_FLIGHT"  # a PMS call is (or was, before a crash) under way
    SCHEDULED = "SCHEDULED"  # waiting in a retry tier; nothing was applied
    DONE = "DONE"  # answered; ``answer`` holds the event that was sent


@dataclass(frozen=True)
class StoredAnswer:
    """The answer event as sent, so a repeat of the command gets the same answer without a PMS call."""

    kind: str  # "result" | "error"
    key: bytes | None
    value: bytes
    # The event's own headers (CloudEvents), so a replay is the same event, ce_id included; trace context is
    # not kept: a replay belongs to the trace of the copy that asked for it.
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class InboxEntry:
    phase: Phase
    hop: int  # which copy of the command is live: 0 the original, n the n-th retry-tier copy
    attempts: int  # PMS calls made so far
    since: float  # epoch seconds when this phase began
    partition: int  # where the entry lives, for expiry sweeps
    answer: StoredAnswer | None = None
    redrive: str | None = None  # the dead-letter redrive this entry was reopened for, if any

    def moved(self, **changes: Any) -> InboxEntry:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "phase": self.phase.value,
            "hop": self.hop,
            "attempts": self.attempts,
            "since": self.since,
            "partition": self.partition,
        }
        if self.redrive is not None:
            data["redrive"] = self.redrive
        if self.answer is not None:
            data["answer"] = {
                "kind": self.answer.kind,
                "key": None if self.answer.key is None else base64.b64encode(self.answer.key).decode(),
                "value": base64.b64encode(self.answer.value).decode(),
                "headers": [[k, base64.b64encode(v).decode()] for k, v in self.answer.headers],
            }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InboxEntry:
        answer = data.get("answer")
        return cls(
            phase=Phase(data["phase"]),
            hop=int(data["hop"]),
            attempts=int(data["attempts"]),
            since=float(data["since"]),
            partition=int(data["partition"]),
            answer=None
            if answer is None
            else StoredAnswer(
                kind=answer["kind"],
                key=None if answer["key"] is None else base64.b64decode(answer["key"]),
                value=base64.b64decode(answer["value"]),
                headers=tuple((k, base64.b64decode(v)) for k, v in answer.get("headers", ())),
            ),
            redrive=data.get("redrive"),
        )
