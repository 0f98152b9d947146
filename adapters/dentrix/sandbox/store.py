"""The sandbox's records: per organization, per resource, each with its recent versions.

Stale reads: a write may be given a read lag; until it elapses, *list* reads still see the previous version
of the record (or nothing, for a create), while ``GET /{id}`` and the admin API see the write at once, like
a search index that trails the primary store.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.dentrix.sandbox.seed import RESOURCE_TYPES, SeedData, format_modified

__all__ = ["Store"]

Record = dict[str, Any]
# Fields where an integrator may keep its own reference (the adapter tags notes with the command id).
REFERENCE_FIELDS = {"patients": ("notes",), "appointments": ("other",)}


@dataclass
class _Slot:
    versions: list[tuple[float, Record]] = field(default_factory=list)  # (visible from, record), oldest first

    def current(self) -> Record:
        return self.versions[-1][1]

    def visible(self, now: float) -> Record | None:
        for visible_at, record in reversed(self.versions):
            if visible_at <= now:
                return record
        return None

    def put(self, record: Record, visible_at: float, now: float) -> None:
        self.versions.append((visible_at, record))
        newest_visible = max((i for i, (at, _) in enumerate(self.versions) if at <= now), default=0)
        del self.versions[:newest_visible]  # nothing older than the newest visible version can be read


class Store:
    def __init__(self, seed: SeedData, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._next_ids = dict(seed.next_ids)
        self._data: dict[str, dict[str, dict[int, _Slot]]] = {}
        for org in seed.orgs:
            self._data[org.id] = {
                resource: {int(r["id"]): _Slot([(0.0, dict(r))]) for r in org.records[resource]}
                for resource in RESOURCE_TYPES
            }
        self._charts = sum(len(org.records["patients"]) for org in seed.orgs)

    def has_org(self, org_id: str) -> bool:
        return org_id in self._data

    def list_visible(self, org_id: str, resource: str) -> list[Record]:
        """What a list read sees now (read lags applied)."""
        now = self._clock()
        with self._lock:
            slots = self._data[org_id][resource].values()
            return [r for r in (slot.visible(now) for slot in slots) if r is not None]

    def get(self, org_id: str, resource: str, record_id: str) -> Record | None:
        if not record_id.isdigit():
            return None
        with self._lock:
            slot = self._data[org_id][resource].get(int(record_id))
            return None if slot is None else slot.current()

    def create(self, org_id: str, resource: str, fields: Mapping[str, Any], *, lag_s: float = 0.0) -> Record:
        with self._lock:
            new_id = self._next_ids[resource]
            self._next_ids[resource] = new_id + 1
            record = {"id": str(new_id), "type": RESOURCE_TYPES[resource], **fields, "lastModified": _now()}
            if resource == "patients" and not record.get("chartNumber"):
                self._charts += 1
                record["chartNumber"] = f"{record['lastName'][:2].upper()}{self._charts:06d}"
            slot = _Slot()
            now = self._clock()
            slot.put(record, now + lag_s, now)
            self._data[org_id][resource][new_id] = slot
            return record

    def replace(
        self, org_id: str, resource: str, record_id: str, fields: Mapping[str, Any], *, lag_s: float = 0.0
    ) -> Record:
        with self._lock:
            slot = self._data[org_id][resource][int(record_id)]
            record = {"id": record_id, "type": RESOURCE_TYPES[resource], **fields, "lastModified": _now()}
            now = self._clock()
            slot.put(record, now + lag_s, now)
            return record

    def find_anywhere(self, resource: str, record_id: str) -> tuple[str, Record] | None:
        """(organization id, current record) of an id in any organization: for the admin API."""
        if resource not in RESOURCE_TYPES or not record_id.isdigit():
            return None
        with self._lock:
            for org_id, resources in self._data.items():
                slot = resources[resource].get(int(record_id))
                if slot is not None:
                    return org_id, slot.current()
        return None

    def with_reference(self, reference: str) -> list[tuple[str, str, str]]:
        """(organization, resource, id) of every record whose reference fields carry ``reference`` as a
        whole token (so ``cmd-1`` does not count ``cmd-12``). Current versions, read lags ignored."""
        token = re.compile(rf"(?<![\w-]){re.escape(reference)}(?![\w-])")
        found = []
        with self._lock:
            for org_id, resources in self._data.items():
                for resource, fields in REFERENCE_FIELDS.items():
                    for slot in resources[resource].values():
                        record = slot.current()
                        if any(token.search(str(record.get(f) or "")) for f in fields):
                            found.append((org_id, resource, record["id"]))
        return found

    def counts(self, org_id: str) -> dict[str, int]:
        with self._lock:
            return {resource: len(slots) for resource, slots in self._data[org_id].items()}


def _now() -> str:
    return format_modified(datetime.now(UTC))
