"""Subject queues: the ``subjects`` table, which keeps commands about one subject in order across retries.

Keyed ``practice|subject``; the value is the list of commands of that subject waiting in retry tiers, oldest
first, each ``{"command_id", "tier", "at"}``. The first is the *head*: later commands of the subject follow it
into its tier and run after it. A head not seen within its tier's bound (:func:`streams.ordering.head_overdue`)
is released, so its followers are never held for ever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from streams.ordering import head_overdue

__all__ = ["Head", "SubjectQueues"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Head:
    command_id: str
    tier: int


class SubjectQueues:
    def __init__(
        self, table: MutableMapping[str, Any], *, delays: tuple[float, ...], clock: Callable[[], float]
    ) -> None:
        self._table = table
        self._delays = delays
        self._clock = clock

    def head(self, practice_id: str, subject: str | None) -> Head | None:
        """The command that ``subject``'s later commands wait behind, if any (overdue heads released)."""
        if subject is None:
            return None
        key = _key(practice_id, subject)
        queue = self._table.get(key)
        while queue:
            first = queue[0]
            if not head_overdue(first, now=self._clock(), delays=self._delays):
                return Head(str(first["command_id"]), int(first["tier"]))
            _log.warning(
                "subject head released practice_id=%s command_id=%s tier=%s reason=overdue",
                practice_id,
                first["command_id"],
                first.get("tier"),
            )
            queue = [dict(item) for item in queue[1:]]
            self._store(key, queue)
        return None

    def hold(self, practice_id: str, subject: str, command_id: str, tier: int) -> None:
        """``command_id`` waits in ``tier``: later commands of ``subject`` follow it (it keeps its place)."""
        key = _key(practice_id, subject)
        queue = [dict(item) for item in self._table.get(key) or []]
        now = self._clock()
        for item in queue:
            if item["command_id"] == command_id:
                item["tier"], item["at"] = tier, now
                break
        else:
            queue.append({"command_id": command_id, "tier": tier, "at": now})
        self._table[key] = queue

    def release(self, practice_id: str, subject: str | None, command_id: str) -> None:
        """``command_id`` is answered: the next command of its subject may run."""
        if subject is None:
            return
        key = _key(practice_id, subject)
        queue = self._table.get(key)
        if not queue:
            return
        remaining = [item for item in queue if item["command_id"] != command_id]
        if len(remaining) != len(queue):
            self._store(key, remaining)

    def _store(self, key: str, queue: list[dict[str, Any]]) -> None:
        if queue:
            self._table[key] = queue
        else:
            del self._table[key]


def _key(practice_id: str, subject: str) -> str:
    return f"{practice_id}|{subject}"
