"""Idempotency: the inbox table, keyed by command id, records how far each command got.

``IN_FLIGHT`` is made durable before a write reaches the PMS; ``DONE`` keeps the answer. A command seen
again is answered from the inbox (``DONE``), reconciled against the PMS (``IN_FLIGHT`` write: its outcome is
unknown), dropped (an older copy of a command whose newer copy waits in a retry tier), or processed.
Entries are plain JSON-able dicts so the Faust changelog stores them without a custom codec.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

__all__ = ["Inbox", "InboxEntry", "Phase", "StoredAnswer", "sweep"]


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


@runtime_checkable
class Receipts(Protocol):
    """A table that can tell when one key's write is on the broker (:class:`streams.outbox.ReceiptTable`)."""

    async def acknowledged(self, key: str) -> None: ...


class Inbox:
    """The inbox table as entries: a mapping of command id to :class:`InboxEntry` (stored as JSON dicts)."""

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self._table = table
        self._receipts = table if isinstance(table, Receipts) else None  # decided once, not per write

    def get(self, command_id: str) -> InboxEntry | None:
        raw = self._table.get(command_id)
        return None if raw is None else InboxEntry.from_json(raw)

    def __contains__(self, command_id: object) -> bool:
        return command_id in self._table

    def put(self, command_id: str, entry: InboxEntry) -> None:
        if entry.redrive is None:  # a redriven command keeps its redrive id to the end, so a repeat replays
            previous = self._table.get(command_id)
            if previous and previous.get("redrive"):
                entry = entry.moved(redrive=previous["redrive"])
        self._table[command_id] = entry.to_json()

    async def put_durably(
        self, command_id: str, entry: InboxEntry, flush: Callable[[], Awaitable[None]]
    ) -> None:
        """:meth:`put`, then return once the entry is on the broker: its own changelog record when the table
        keeps receipts, else ``flush`` (every table write so far)."""
        self.put(command_id, entry)
        if self._receipts is not None:
            await self._receipts.acknowledged(command_id)
        else:
            await flush()

    def redrive_of(self, command_id: str) -> str | None:
        stored = self._table.get(command_id)
        return stored.get("redrive") if stored else None


def sweep(table: Any, cutoff: float) -> int:
    """Drop entries older than ``cutoff`` (epoch seconds) from a Faust table, outside any event.

    Outside an event Faust cannot tell which changelog partition a deletion belongs to, so the entry names its
    own: the deletion goes straight to the store and to that partition's changelog.
    """
    expired = [
        (key, value) for key, value in table.items() if value and float(value.get("since", 0)) < cutoff
    ]
    for key, value in expired:
        table.data.pop(key, None)
        table.send_changelog(int(value["partition"]), key, None, value_serializer="raw")
    return len(expired)
