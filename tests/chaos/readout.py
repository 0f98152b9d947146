"""What the sandboxes hold after a run, per write command: evidence read from the PMS side only.

- ``records``: how many records carry the command's reference marker (``GET /_admin/count``): a create
  written twice shows 2; an update shows 1 once applied (its target is updated by no other command).
- ``applied``: for an update, how many times its target record was written: Eaglesoft's write log
  (``GET /_admin/writes``, completed updates of that entity); Dentrix's request log (``PUT`` of that record
  answered 2xx, or applied with its answer lost by a ``lost_response`` fault).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from adapters.dentrix.sandbox import API_BASE as DENTRIX_API
from tests.chaos.cast import Cast
from tests.chaos.workload import Planned, Target
from tests.contract.dentrix_harness import DentrixHarness
from tests.contract.eaglesoft_harness import EaglesoftHarness
from tests.contract.harness import AdminApi

__all__ = ["WriteReadout", "pending_writes", "read_writes"]

_ENTITY = {"patients": "Patient", "appointments": "Appointment"}


@dataclass(frozen=True)
class WriteReadout:
    records: int
    where: tuple[str, ...]  # the records' ids, as the admin API lists them
    applied: int | None = None  # updates only


def read_writes(
    writes: Sequence[Planned], cast: Cast, dentrix: DentrixHarness, eaglesoft: EaglesoftHarness
) -> dict[str, WriteReadout]:
    dentrix_puts = _dentrix_puts(dentrix)
    eaglesoft_updates = _eaglesoft_updates(eaglesoft)
    found: dict[str, WriteReadout] = {}
    for planned in writes:
        vendor = cast.stage(planned.command.practice_id).vendor
        harness: AdminApi = eaglesoft if vendor == "eaglesoft" else dentrix
        counted = harness._admin_json("GET", "/_admin/count", params={"reference": planned.command_id})
        where = tuple(f"{r['resource']}/{r['id']}" for r in counted["records"])
        applied = None
        if planned.target is not None:
            applied = (eaglesoft_updates if vendor == "eaglesoft" else dentrix_puts)[_key(planned.target)]
        found[planned.command_id] = WriteReadout(int(counted["count"]), where, applied)
    return found


def pending_writes(eaglesoft: EaglesoftHarness) -> int:
    """Eaglesoft writes accepted and not yet decided (a stuck write may still land)."""
    writes = eaglesoft._admin_json("GET", "/_admin/writes")["writes"]
    return sum(1 for w in writes if w["Status"] == "Pending")


def _key(target: Target) -> tuple[str, str]:
    return target.resource, target.record_id


def _dentrix_puts(harness: DentrixHarness) -> Counter[tuple[str, str]]:
    applied: Counter[tuple[str, str]] = Counter()
    for line in harness._request_lines(0.0):
        if line["method"] != "PUT":
            continue
        resource, _, record = line["path"].removeprefix(DENTRIX_API).strip("/").partition("/")
        status = line["status"]
        if (status is not None and 200 <= status < 300) or (
            status is None and "lost_response" in line["faults"]
        ):
            applied[(resource, record)] += 1
    return applied


def _eaglesoft_updates(harness: EaglesoftHarness) -> Counter[tuple[str, str]]:
    applied: Counter[tuple[str, str]] = Counter()
    resources = {entity: resource for resource, entity in _ENTITY.items()}
    for write in harness._admin_json("GET", "/_admin/writes")["writes"]:
        if write["Operation"] == "Update" and write["Status"] == "Completed":
            applied[(resources[write["EntityType"]], str(write["EntityId"]))] += 1
    return applied
