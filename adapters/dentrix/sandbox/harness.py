"""The contract suite's :class:`~adapters.sandbox.harness.SandboxHarness` for Dentrix: the Ascend sandbox in a
thread of this process, driven through its documented admin API (``/_admin``), and a ``DentrixAdapter``."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from typing import Any

import httpx
from pydantic import SecretStr

from adapters.dentrix.adapter import DentrixAdapter
from adapters.dentrix.config import DentrixConfig
from adapters.dentrix.sandbox.app import API_BASE, TOKEN_PATH, DentrixSandbox, SandboxConfig
from adapters.dentrix.sandbox.seed import DEFAULT_ANCHOR, build_seed
from adapters.http import RetryPolicy
from adapters.sandbox.harness import (
    AdapterOverrides,
    AdminApi,
    Fault,
    KnownRecords,
    LoggedRequest,
    Resource,
    fault_rule,
)
from adapters.sandbox.runner import RunningServer

__all__ = ["DentrixHarness"]

_CLIENT_ID = "contract-suite"
_CLIENT_SECRET = "contract-suite-secret"
_SEED = 42


class DentrixHarness(AdminApi):
    vendor = "dentrix"

    def __init__(self, seed: int = _SEED) -> None:
        self._seed = seed
        self._server: RunningServer | None = None
        self._admin: httpx.Client | None = None
        self._org_id = ""

    # ---- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> None:
        sandbox = DentrixSandbox(
            SandboxConfig(
                seed=self._seed, anchor=DEFAULT_ANCHOR, client_id=_CLIENT_ID, client_secret=_CLIENT_SECRET
            )
        )
        self._server = sandbox.run_in_thread()
        self._admin = httpx.Client(base_url=self._server.base_url, timeout=10.0)
        summary = self._admin_json("GET", "/_admin/summary")
        org = summary["organizations"][0]
        self._org_id = org["id"]
        self.known = _known_records(summary, org, self._seed)

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
        if self._server is not None:
            self._server.stop()

    def connection(self) -> dict[str, Any]:
        """Registry ``connection`` settings for the seeded practice; secrets as plain values for ``{env:}``."""
        assert self._server is not None, "start() first"
        return {
            "base_url": self._server.base_url,
            "organization_id": self._org_id,
            "client_id": _CLIENT_ID,
            "client_secret": _CLIENT_SECRET,
        }

    def make_adapter(self, overrides: AdapterOverrides = AdapterOverrides()) -> DentrixAdapter:
        assert self._server is not None, "start() first"
        settings: dict[str, Any] = {
            "base_url": self._server.base_url,
            "organization_id": self._org_id,
            "client_id": _CLIENT_ID,
            "client_secret": SecretStr(_CLIENT_SECRET),
        }
        settings.update(overrides.settings())
        config = DentrixConfig(**settings)
        # In-call backoff kept short so retried bursts stay quick; the policy's logic is unchanged.
        retry = RetryPolicy(max_attempts=config.max_attempts, base_delay=0.05, max_delay=0.2)
        return DentrixAdapter(config, retry=retry)

    # ---- faults, tokens, logs ----------------------------------------------------------------------------

    def set_faults(self, *faults: Fault) -> None:
        self._admin_json("POST", "/_admin/faults", json={"rules": [_rule(f) for f in faults]})

    def revoke_tokens(self) -> None:
        self._admin_json("POST", "/_admin/tokens/revoke")

    def requests(self, since: float = 0.0) -> list[LoggedRequest]:
        return [_logged(line) for line in self._request_lines(since)]


def _rule(fault: Fault) -> dict[str, Any]:
    path = f"/{fault.resource.value}" if fault.resource else API_BASE
    return fault_rule(fault, path=path, write_methods="POST|PUT")


def _logged(line: dict[str, Any]) -> LoggedRequest:
    path: str = line["path"]
    record_path = None
    if path.startswith(TOKEN_PATH):
        resource = Resource.AUTH
    else:
        head, _, rest = path.removeprefix(API_BASE).strip("/").partition("/")
        resource = Resource(head) if head in Resource.__members__.values() else Resource.OTHER
        record_path = rest or None
    return LoggedRequest(
        time=float(line["time"]),
        method=line["method"],
        resource=resource,
        is_write=line["method"] in ("POST", "PUT"),
        status=line["status"],
        record_path=record_path,
    )


def _known_records(summary: dict[str, Any], org: dict[str, Any], seed: int) -> KnownRecords:
    location = next(loc for loc in org["locations"] if loc["timeZone"] == "America/New_York")
    operatory = next(op for op in location["operatories"] if op["active"])
    # The seed is deterministic: rebuild it to learn what the summary does not list (the patients).
    data = build_seed(seed, date.fromisoformat(summary["anchor"]))
    patients = next(o for o in data.orgs if o.id == org["id"]).records["patients"]
    by_last = Counter(p["lastName"] for p in patients)
    last_name = min(by_last, key=lambda name: (-by_last[name], name))
    patient = random.Random(seed).choice([p for p in patients if p["lastName"] == last_name])
    return KnownRecords(
        dst_location_id=location["id"],
        dst_location_zone=location["timeZone"],
        operatory_id=operatory["id"],
        provider_id=org["providers"][0],
        patient_id=patient["id"],
        patient_last_name=last_name,
        patient_first_name=patient["firstName"],
        patient_date_of_birth=date.fromisoformat(patient["dateOfBirth"]),
        patient_ids_with_last_name=frozenset(p["id"] for p in patients if p["lastName"] == last_name),
        phi=_phi(patients),
    )


def _phi(patients: list[dict[str, Any]]) -> tuple[str, ...]:
    values: set[str] = set()
    for p in patients:
        values.update(v for v in (p["firstName"], p["lastName"], p["dateOfBirth"], p["emailAddress"]) if v)
        for phone in p["phones"] or ():
            values.add(phone["number"])
            values.add("".join(c for c in phone["number"] if c.isdigit()))
    return tuple(sorted(values))
