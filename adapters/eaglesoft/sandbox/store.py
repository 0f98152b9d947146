"""The sandbox's database: every row by resource and id, with recent versions for stale reads.

Stale reads: a write applied with a read lag shows in LIST reads only once the lag has passed (until then
lists see the previous version, or nothing for a create, or the record still there for a delete), while
``GET /{id}`` and the admin API see the current version at once, like a replica that trails the primary.
Deleted appointments leave a tombstone version, so they answer 404 and vanish from lists.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.eaglesoft.sandbox.seed import FIRST_IDS, SeedData
from adapters.eaglesoft.sandbox.writes import Operation, Write, WriteRejected

__all__ = ["ID_KEYS", "REFERENCE_FIELDS", "Store"]

Record = dict[str, Any]
ID_KEYS = {
    "practices": "PracticeId",
    "chairs": "ChairNum",
    "providers": "ProviderId",
    "patients": "PatientId",
    "appointments": "AppointmentId",
}
ENTITY_RESOURCES = {"Patient": "patients", "Appointment": "appointments"}
# Where an integrator keeps its own reference (the adapter tags notes with the command id).
REFERENCE_FIELDS = {"patients": "PatientNotes", "appointments": "AppointmentNotes"}


@dataclass
class _Slot:
    practice_id: int
    versions: list[tuple[float, Record | None]] = field(default_factory=list)  # (visible from, row|tombstone)

    def current(self) -> Record | None:
        return self.versions[-1][1]

    def visible(self, now: float) -> Record | None:
        for visible_at, record in reversed(self.versions):
            if visible_at <= now:
                return record
        return None

    def put(self, record: Record | None, visible_at: float, now: float) -> None:
        self.versions.append((visible_at, record))
        newest_visible = max((i for i, (at, _) in enumerate(self.versions) if at <= now), default=0)
        del self.versions[:newest_visible]  # nothing older than the newest visible version can be read


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int) else (1, str(value))


class Store:
    def __init__(
        self, seed: SeedData, *, now_local: Callable[[], str], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._now_local = now_local
        self._lock = threading.Lock()
        self._rows: dict[str, dict[Any, _Slot]] = {resource: {} for resource in ID_KEYS}
        for resource, key in ID_KEYS.items():
            for record in seed.records[resource]:
                self._rows[resource][record[key]] = _Slot(record["PracticeId"], [(0.0, dict(record))])
        self._next_ids = {
            resource: max([FIRST_IDS[resource] - 1, *self._rows[resource]]) + 1 for resource in FIRST_IDS
        }

    # ---- reads -------------------------------------------------------------------------------------------

    def practice_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._rows["practices"])

    def list_visible(self, practice_id: int | None, resource: str) -> list[Record]:
        """What a list read sees now (read lags applied), ordered by id; ``None``: every practice."""
        now = self._clock()
        with self._lock:
            slots = sorted(self._rows[resource].items(), key=lambda item: _sort_key(item[0]))
            visible = [
                slot.visible(now)
                for _, slot in slots
                if practice_id is None or slot.practice_id == practice_id
            ]
        return [dict(record) for record in visible if record is not None]

    def get(self, practice_id: int, resource: str, record_id: Any) -> Record | None:
        """The current row, if it exists in that practice and is not deleted."""
        with self._lock:
            slot = self._rows[resource].get(record_id)
            if slot is None or slot.practice_id != practice_id:
                return None
            current = slot.current()
            return None if current is None else dict(current)

    def find_anywhere(self, resource: str, record_id: Any) -> tuple[int, Record | None] | None:
        """(practice id, current row or None when deleted), whatever the practice: for the admin API."""
        with self._lock:
            slot = self._rows.get(resource, {}).get(record_id)
            if slot is None:
                return None
            current = slot.current()
            return slot.practice_id, None if current is None else dict(current)

    def with_reference(self, reference: str) -> list[tuple[str, Any, int]]:
        """(resource, id, practice id) of every live row whose notes carry ``reference`` as a whole token
        (so ``cmd-1`` does not count ``cmd-12``). Current versions, read lags ignored."""
        token = re.compile(rf"(?<![\w-]){re.escape(reference)}(?![\w-])")
        found = []
        with self._lock:
            for resource, notes in REFERENCE_FIELDS.items():
                for record_id, slot in self._rows[resource].items():
                    current = slot.current()
                    if current is not None and token.search(str(current.get(notes) or "")):
                        found.append((resource, record_id, slot.practice_id))
        return found

    def counts(self, practice_id: int) -> dict[str, int]:
        with self._lock:
            return {
                resource: sum(
                    1 for s in slots.values() if s.practice_id == practice_id and s.current() is not None
                )
                for resource, slots in self._rows.items()
                if resource != "practices"
            }

    # ---- writes ------------------------------------------------------------------------------------------

    def apply(self, write: Write) -> int:
        """Apply a due write after its business checks; raises :class:`WriteRejected` (nothing applied)."""
        resource = ENTITY_RESOURCES[write.entity_type]
        with self._lock:
            now = self._clock()
            if write.operation is Operation.CREATE:
                return self._create(resource, write, now)
            slot = self._rows[resource].get(write.entity_id)
            current = None if slot is None or slot.practice_id != write.practice_id else slot.current()
            if slot is None or current is None:
                raise WriteRejected("NotFound")
            if write.operation is Operation.DELETE:
                slot.put(None, now + write.read_lag_s, now)
            else:
                merged = {**current, **write.payload, "DateModified": self._now_local()}
                self._check(resource, write.practice_id, merged, current)
                slot.put(merged, now + write.read_lag_s, now)
            return int(current[ID_KEYS[resource]])

    def _create(self, resource: str, write: Write, now: float) -> int:
        record = {**write.payload, "PracticeId": write.practice_id, "DateModified": self._now_local()}
        if resource == "appointments":
            record["DateAppointed"] = record["DateModified"]
        self._check(resource, write.practice_id, record, None)
        new_id: int = self._next_ids[resource]
        self._next_ids[resource] = new_id + 1
        record = {ID_KEYS[resource]: new_id, **record}
        slot = _Slot(write.practice_id)
        slot.put(record, now + write.read_lag_s, now)
        self._rows[resource][new_id] = slot
        return new_id

    def _check(
        self, resource: str, practice_id: int, record: Mapping[str, Any], current: Record | None
    ) -> None:
        """Business rules only the database can check (it holds the lock)."""
        if resource != "appointments":
            return
        if record.get("Classification") == 1 and not self._live(
            practice_id, "patients", _int(record["PatientId"])
        ):
            raise WriteRejected("InvalidPatient")
        chair = self._live(practice_id, "chairs", record["LocationId"])
        moved = current is None or current["LocationId"] != record["LocationId"]
        if chair is None or (moved and chair["Hidden"] == "Y"):
            raise WriteRejected("InvalidChair")
        for provider in record.get("Providers") or []:
            if self._live(practice_id, "providers", provider["ProviderId"]) is None:
                raise WriteRejected("InvalidProvider")

    def _live(self, practice_id: int, resource: str, record_id: Any) -> Record | None:
        slot = self._rows[resource].get(record_id)
        return None if slot is None or slot.practice_id != practice_id else slot.current()


def _int(value: Any) -> int | None:
    text = str(value) if value is not None else ""
    return int(text) if text.isdigit() else None
