"""One office's database: every row by resource and id, with recent versions for stale reads.

Stale reads: a write applied with a read lag shows in LIST reads only once the lag has passed (until then lists
see the previous version, or nothing for a create), while ``GET /{id}`` and the admin API see the current
version at once, like a replica that trails the primary.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.opendental.sandbox.seed import OfficeData
from adapters.opendental.sandbox.validation import References

__all__ = ["ID_KEYS", "REFERENCE_FIELDS", "Database"]

Record = dict[str, Any]
ID_KEYS = {
    "clinics": "ClinicNum",
    "operatories": "OperatoryNum",
    "providers": "ProvNum",
    "appointmenttypes": "AppointmentTypeNum",
    "definitions": "DefNum",
    "patients": "PatNum",
    "appointments": "AptNum",
}
# Where an integrator keeps its own reference (the adapter tags notes with the command id).
REFERENCE_FIELDS = {"patients": "AddrNote", "appointments": "Note"}


@dataclass
class _Slot:
    versions: list[tuple[float, Record]] = field(default_factory=list)  # (visible from, row)

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


class Database:
    """The rows of one office. ``now_local`` stamps ``DateTStamp`` with the office server's wall clock."""

    def __init__(
        self, office: OfficeData, *, now_local: Callable[[], str], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.office = office
        self._now_local = now_local
        self._clock = clock
        self._lock = threading.Lock()
        self._rows: dict[str, dict[int, _Slot]] = {resource: {} for resource in ID_KEYS}
        for resource, key in ID_KEYS.items():
            for record in office.records[resource]:
                self._rows[resource][record[key]] = _Slot([(0.0, dict(record))])
        self.preferences = {p["PrefName"]: p["ValueString"] for p in office.records["preferences"]}

    def now_local(self) -> str:
        """The office server's wall clock, as Open Dental writes it."""
        return self._now_local()

    # ---- reads -------------------------------------------------------------------------------------------

    def list_visible(self, resource: str) -> list[Record]:
        """What a list read sees now (read lags applied), ordered by id."""
        now = self._clock()
        with self._lock:
            visible = [slot.visible(now) for _, slot in sorted(self._rows[resource].items())]
        return [dict(record) for record in visible if record is not None]

    def get(self, resource: str, record_id: int) -> Record | None:
        with self._lock:
            slot = self._rows[resource].get(record_id)
            return None if slot is None else dict(slot.current())

    def references(self) -> References:
        with self._lock:
            current = {
                resource: [s.current() for s in slots.values()] for resource, slots in self._rows.items()
            }
        ops = current["operatories"]
        return References(
            patients=frozenset(p["PatNum"] for p in current["patients"]),
            operatories=frozenset(o["OperatoryNum"] for o in ops),
            hidden_operatories=frozenset(o["OperatoryNum"] for o in ops if o["IsHidden"] == "true"),
            providers=frozenset(p["ProvNum"] for p in current["providers"]),
            clinics=frozenset(c["ClinicNum"] for c in current["clinics"]),
            appointment_types=frozenset(t["AppointmentTypeNum"] for t in current["appointmenttypes"]),
            confirmations=frozenset(d["DefNum"] for d in current["definitions"] if d["Category"] == 2),
        )

    def with_reference(self, reference: str) -> list[tuple[str, int]]:
        """(resource, id) of every row whose notes carry ``reference`` as a whole token (so ``cmd-1`` does not
        count ``cmd-12``). Current versions, read lags ignored."""
        token = re.compile(rf"(?<![\w-]){re.escape(reference)}(?![\w-])")
        with self._lock:
            return [
                (resource, record_id)
                for resource, notes in REFERENCE_FIELDS.items()
                for record_id, slot in self._rows[resource].items()
                if token.search(str(slot.current().get(notes) or ""))
            ]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {resource: len(slots) for resource, slots in self._rows.items()}

    # ---- writes ------------------------------------------------------------------------------------------

    def insert(self, resource: str, record: Record, *, read_lag_s: float = 0.0) -> Record:
        """A new row with the next id and a fresh ``DateTStamp``."""
        key = ID_KEYS[resource]
        with self._lock:
            now = self._clock()
            new_id = max(self._rows[resource], default=0) + 1
            row = {key: new_id, **record, "DateTStamp": self._now_local()}
            slot = _Slot()
            slot.put(row, now + read_lag_s, now)
            self._rows[resource][new_id] = slot
            return dict(row)

    def update(self, resource: str, record_id: int, changes: Record, *, read_lag_s: float = 0.0) -> Record:
        """The row with ``changes`` applied (fields not in ``changes`` stay as they are)."""
        with self._lock:
            now = self._clock()
            slot = self._rows[resource][record_id]
            row = {**slot.current(), **changes, "DateTStamp": self._now_local()}
            slot.put(row, now + read_lag_s, now)
            return dict(row)
