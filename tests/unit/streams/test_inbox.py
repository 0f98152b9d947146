"""Inbox entries survive a JSON round trip (what the Faust changelog stores); a durable put waits for what it must."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streams.inbox import Inbox, InboxEntry, Phase, StoredAnswer


@pytest.mark.parametrize(
    "entry",
    [
        InboxEntry(Phase.IN_FLIGHT, 0, 1, 1_700_000_000.25, 3),
        InboxEntry(Phase.SCHEDULED, 2, 2, 1_700_000_100.0, 0),
        InboxEntry(Phase.DONE, 1, 2, 1.5, 5, StoredAnswer("result", b"practice", b"\xc3\x01\x00\xff")),
        InboxEntry(Phase.DONE, 0, 0, 1.5, 5, StoredAnswer("error", None, b"")),
    ],
    ids=["in-flight", "scheduled", "done-result", "done-error-no-key"],
)
def test_json_round_trip(entry: InboxEntry) -> None:
    stored = json.loads(json.dumps(entry.to_json()))
    assert InboxEntry.from_json(stored) == entry


def test_moved_changes_only_what_it_is_told() -> None:
    entry = InboxEntry(Phase.IN_FLIGHT, 0, 1, 10.0, 3)
    assert entry.moved(phase=Phase.DONE, hop=2) == InboxEntry(Phase.DONE, 2, 1, 10.0, 3)


class _Receipted(dict[str, Any]):
    """A table that keeps receipts (as ``streams.outbox.ReceiptTable`` does): which keys were waited for."""

    def __init__(self) -> None:
        super().__init__()
        self.waited: list[str] = []

    async def acknowledged(self, key: str) -> None:
        self.waited.append(key)


async def test_put_durably_waits_for_the_entrys_own_record_when_the_table_keeps_receipts() -> None:
    table, flushes = _Receipted(), []

    async def flush() -> None:
        flushes.append(1)

    await Inbox(table).put_durably("c-1", InboxEntry(Phase.IN_FLIGHT, 0, 1, 1.0, 0), flush)
    assert (table.waited, flushes, table["c-1"]["phase"]) == (["c-1"], [], "IN_FLIGHT")


async def test_put_durably_flushes_a_table_without_receipts() -> None:
    table: dict[str, Any] = {}
    flushes = []

    async def flush() -> None:
        flushes.append(1)

    await Inbox(table).put_durably("c-1", InboxEntry(Phase.IN_FLIGHT, 0, 1, 1.0, 0), flush)
    assert (flushes, table["c-1"]["phase"]) == ([1], "IN_FLIGHT")
