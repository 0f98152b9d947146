"""The faults of a chaos run, on every sandbox, in the shared fault engine's rules (``adapters/sandbox/faults.py``)
and Eaglesoft's write faults. Rates are modest, so that a run ends; counts scale with the run's size.

Rule order matters: the first *terminal* rule that fires decides a request, so the rarer faults come first.
"""

from __future__ import annotations

from typing import Any

from adapters.dentrix.sandbox import API_BASE as DENTRIX_API
from adapters.eaglesoft.sandbox import API_BASE as EAGLESOFT_API
from tests.contract.dentrix_harness import DentrixHarness
from tests.contract.eaglesoft_harness import EaglesoftHarness

__all__ = ["FaultPlan", "fault_plan", "fired", "install"]

FaultPlan = dict[str, Any]  # the admin API's body: {"rules": [...], "specs": [...], "seed": n}


def _rules(api: str, writes: str, commands: int) -> list[dict[str, Any]]:
    burst_after = max(10, commands // 3)  # about a third of the way into the run (on this sandbox's share)
    return [
        {"kind": "latency", "path": api, "dist": "normal", "p50_ms": 3, "p99_ms": 40},
        # A write it fires on shows in list reads (what find_by_reference uses) only 1.5 s later.
        {"kind": "stale_reads", "method": writes, "path": api, "probability": 0.15, "lag_ms": 1500},
        {"kind": "expire_tokens", "skip": max(5, commands // 4), "count": 1},
        {"kind": "rate_limit", "path": api, "skip": burst_after, "count": 6, "retry_after_s": 1},
        {"kind": "refuse", "path": api, "probability": 0.005, "count": 3},
        {"kind": "hang", "path": api, "probability": 0.01, "count": 3, "seconds": 8, "then": "drop"},
        {
            "kind": "lost_response",
            "method": writes,
            "path": api,
            "probability": 0.08,
            "count": max(3, commands // 50),
        },
        {"kind": "error", "path": api, "status": 503, "probability": 0.03},
    ]


def fault_plan(vendor: str, commands: int, seed: int) -> FaultPlan:
    if vendor == "dentrix":
        return {"rules": _rules(DENTRIX_API, "POST|PUT", commands), "seed": seed}
    rules = _rules(EAGLESOFT_API, "POST|PUT|DELETE", commands)
    specs = [
        # Accepted, then Failed with a transient code (nothing applied): the relay writes again.
        f"write_failed,probability=0.05,count={max(2, commands // 100)}",
        # Pending past the relay's call budget (30 s), then applied or failed: an unknown outcome to settle.
        "write_stuck,skip=3,count=1,pending_s=30,then=completed",
        "write_stuck,skip=6,count=1,pending_s=30,then=failed",
    ]
    return {"rules": rules, "specs": specs, "seed": seed}


def install(
    dentrix: DentrixHarness, eaglesoft: EaglesoftHarness, commands: int, seed: int
) -> dict[str, FaultPlan]:
    """Replace both sandboxes' faults with the run's; ``commands`` is the run's size (both vendors)."""
    plans = {
        "dentrix": fault_plan("dentrix", commands // 2, seed),
        "eaglesoft": fault_plan("eaglesoft", commands // 2, seed),
    }
    dentrix._admin_json("POST", "/_admin/faults", json=plans["dentrix"])
    eaglesoft._admin_json("POST", "/_admin/faults", json=plans["eaglesoft"])
    return plans


def fired(dentrix: DentrixHarness, eaglesoft: EaglesoftHarness) -> dict[str, dict[str, int]]:
    """How often each kind of fault fired, per vendor (from the sandboxes' own counters)."""
    counts: dict[str, dict[str, int]] = {}
    for vendor, harness in (("dentrix", dentrix), ("eaglesoft", eaglesoft)):
        described = harness._admin_json("GET", "/_admin/faults")
        tally: dict[str, int] = {}
        for rule in [*described.get("rules", []), *described.get("writeRules", [])]:
            tally[rule["kind"]] = tally.get(rule["kind"], 0) + int(rule.get("fired", 0))
        counts[vendor] = tally
    return counts


def clear(dentrix: DentrixHarness, eaglesoft: EaglesoftHarness) -> None:
    dentrix.set_faults()
    eaglesoft.set_faults()
