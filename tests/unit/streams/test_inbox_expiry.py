"""Inbox entries older than the retention are dropped, with a tombstone in the changelog partition they live in."""

from __future__ import annotations

from typing import Any

from streams.inbox import sweep


class _Table(dict[str, Any]):
    """The two things ``sweep`` uses of a Faust table besides reading: its store and its changelog."""

    def __init__(self, entries: dict[str, Any]) -> None:
        super().__init__(entries)
        self.data = self
        self.tombstones: list[tuple[int, str, Any]] = []

    def send_changelog(self, partition: int, key: str, value: Any, **_: Any) -> None:
        self.tombstones.append((partition, key, value))


def test_old_entries_are_dropped_and_tombstoned_in_their_partition() -> None:
    table = _Table(
        {
            "old": {"phase": "DONE", "since": 100.0, "partition": 4},
            "fresh": {"phase": "DONE", "since": 900.0, "partition": 1},
            "older": {"phase": "SCHEDULED", "since": 5.0, "partition": 0},
        }
    )
    sweep(table, cutoff=500.0)
    assert set(table) == {"fresh"}
    assert sorted(table.tombstones) == [(0, "older", None), (4, "old", None)]
