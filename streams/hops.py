"""Hops: the headers that carry a command's journey through retry tiers and into the dead-letter topic.

Bounded and kept once, as Spring Kafka and Kafka Connect do: where the command first came from and when it
was first seen are written once; the latest attempt count, due time and error replace earlier ones.
Messages in these headers carry error codes and classes only, never patient data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["Hop", "Origin", "read_hop", "write_hop"]

_PREFIX = "pms-"
ATTEMPTS = "pms-attempts"
HOP = "pms-hop"
DUE_AT = "pms-due-at"
FIRST_SEEN = "pms-first-seen"
ORIGIN_TOPIC = "pms-origin-topic"
ORIGIN_PARTITION = "pms-origin-partition"
ORIGIN_OFFSET = "pms-origin-offset"
ERROR_CODE = "pms-error-code"
ERROR_CLASS = "pms-error-class"
ERROR_MESSAGE = "pms-error-message"
_MAX_MESSAGE = 300


@dataclass(frozen=True)
class Origin:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Hop:
    """What a copy of a command carries about its journey so far."""

    hop: int
    attempts: int
    first_seen: datetime
    origin: Origin
    due_at: datetime | None = None
    error_code: str | None = None
    error_class: str | None = None
    error_message: str | None = None


def read_hop(headers: Sequence[tuple[str, bytes | None]] | None) -> Hop | None:
    """The journey of a retry or dead-letter copy; None for an original command (or unreadable headers)."""
    values = {key: value.decode("utf-8", "replace") for key, value in headers or () if value is not None}
    try:
        return Hop(
            hop=int(values[HOP]),
            attempts=int(values[ATTEMPTS]),
            first_seen=_instant(values[FIRST_SEEN]),
            origin=Origin(values[ORIGIN_TOPIC], int(values[ORIGIN_PARTITION]), int(values[ORIGIN_OFFSET])),
            due_at=_instant(values[DUE_AT]) if DUE_AT in values else None,
            error_code=values.get(ERROR_CODE),
            error_class=values.get(ERROR_CLASS),
            error_message=values.get(ERROR_MESSAGE),
        )
    except (KeyError, ValueError):
        return None


def write_hop(headers: Iterable[tuple[str, bytes | None]], hop: Hop) -> list[tuple[str, bytes]]:
    """``headers`` without any earlier journey headers, plus ``hop``'s: the set stays bounded."""
    kept = [(k, v) for k, v in headers if v is not None and not k.startswith(_PREFIX)]
    fields: list[tuple[str, str | None]] = [
        (HOP, str(hop.hop)),
        (ATTEMPTS, str(hop.attempts)),
        (FIRST_SEEN, _text(hop.first_seen)),
        (ORIGIN_TOPIC, hop.origin.topic),
        (ORIGIN_PARTITION, str(hop.origin.partition)),
        (ORIGIN_OFFSET, str(hop.origin.offset)),
        (DUE_AT, None if hop.due_at is None else _text(hop.due_at)),
        (ERROR_CODE, hop.error_code),
        (ERROR_CLASS, hop.error_class),
        (ERROR_MESSAGE, None if hop.error_message is None else hop.error_message[:_MAX_MESSAGE]),
    ]
    return kept + [(k, v.encode()) for k, v in fields if v is not None]


def _text(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
