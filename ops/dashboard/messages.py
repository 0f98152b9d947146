"""Kafka messages into the dashboard's state, pure: an alert's JSON body, a dead letter's headers (never its
value), a trace id from ``traceparent``, and a partition's lag from offsets and the oldest record's time."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from ops.dashboard.state import Alert, DeadLetter, PartitionLag
from schemas import cloudevents as ce
from streams.redrive import read_dead_letter

__all__ = ["parse_alert", "parse_dead_letter", "partition_lag", "trace_id_of"]

Headers = Sequence[tuple[str, bytes | None]]


def parse_alert(value: bytes | None) -> Alert | None:
    """A circuit alert (``pms.alert.circuit.v1``), or None for anything else on the topic."""
    try:
        body = json.loads(value or b"")
        return Alert(
            practice_id=str(body["practice_id"]),
            pms=str(body.get("pms", "")),
            old=str(body["from"]),
            new=str(body["to"]),
            failures=int(body.get("failures", 0)),
            at=datetime.fromisoformat(body["at"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def parse_dead_letter(
    partition: int, offset: int, key: bytes | None, headers: Headers | None, timestamp_ms: int | None
) -> DeadLetter:
    record = read_dead_letter(partition, offset, key, headers)
    hop = record.hop
    return DeadLetter(
        partition=partition,
        offset=offset,
        command_id=record.command_id,
        command_type=record.command_type,
        practice_id=key.decode("utf-8", "replace") if key else None,
        code=hop.error_code if hop else None,
        attempts=hop.attempts if hop else None,
        at=datetime.fromtimestamp(timestamp_ms / 1000, UTC) if timestamp_ms and timestamp_ms > 0 else None,
        trace_id=trace_id_of(headers),
    )


def trace_id_of(headers: Headers | None) -> str | None:
    """The trace id of a W3C ``traceparent`` (``00-<32 hex>-<16 hex>-<flags>``), or None."""
    parts = (ce.header(headers, "traceparent") or "").split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or set(parts[1]) == {"0"}:
        return None
    try:
        int(parts[1], 16)
    except ValueError:
        return None
    return parts[1]


def partition_lag(
    partition: int,
    committed: int | None,
    low: int,
    high: int,
    oldest_unconsumed_ms: int | None,
    now: datetime,
) -> PartitionLag:
    """Records behind and the age of the oldest unconsumed one. With no commit yet the group starts at the
    log's start (the workers read from the earliest offset); a committed offset below the start (records
    deleted by retention) counts from the start too."""
    start = low if committed is None else max(committed, low)
    records = max(0, high - start)
    if records == 0:
        seconds: float | None = 0.0
    elif oldest_unconsumed_ms is None:
        seconds = None
    else:
        seconds = max(0.0, now.timestamp() - oldest_unconsumed_ms / 1000)
    return PartitionLag(partition, committed, high, records, seconds)
