"""Inbox entries survive a JSON round trip (what the Faust changelog stores)."""

from __future__ import annotations

import json

import pytest

from streams.inbox import InboxEntry, Phase, StoredAnswer


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
