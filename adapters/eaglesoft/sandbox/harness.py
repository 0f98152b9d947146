"""The contract suite's :class:`~adapters.sandbox.harness.SandboxHarness` for Eaglesoft: the Eaglesoft sandbox in a
thread of this process, driven through its documented admin API (``/_admin``), and an ``EaglesoftAdapter``
for the sandbox's first practice (Chicago: it observes daylight-saving time).

Vendor translations kept here, out of the suite:

- resources: ``/practices`` are locations, ``/practices/{id}/chairs`` operatories, ``/session`` auth;
  ``/system``, ``/providers`` and ``/writes`` are "other";
- ``writes_only`` faults hit ``POST|PUT|DELETE`` (a cancellation is a ``DELETE``);
- a lost response is held for a moment before the connection drops, longer than the sandbox's write delay:
  the sandbox applies an accepted write asynchronously, and the hold lets it land before the suite asks
  ``find_by_reference`` at once (in production the reconciliation comes from a later retry tier anyway);
- a fault on every resource (``resource=None``) also hits ``/session``: the sandbox's paths give no way to
  except it with one rule.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from typing import Any

import httpx
from pydantic import SecretStr

from adapters.eaglesoft.adapter import EaglesoftAdapter
from adapters.eaglesoft.config import EaglesoftConfig
from adapters.eaglesoft.sandbox.app import API_BASE, EaglesoftSandbox
from adapters.eaglesoft.sandbox.config import SandboxConfig
from adapters.eaglesoft.sandbox.seed import DEFAULT_ANCHOR, build_seed
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

__all__ = ["EaglesoftHarness"]

_SEED = 42
_PRACTICE_ZONE = "America/Chicago"
# Longer than the sandbox's longest write delay (200 ms by default), see the module docstring.
_LOST_RESPONSE_HOLD_S = 0.3


class EaglesoftHarness(AdminApi):
    vendor = "eaglesoft"

    def __init__(self, seed: int = _SEED, *, version: str | None = None) -> None:
        self._seed = seed
        self._version = version
        self._server: RunningServer | None = None
        self._admin: httpx.Client | None = None
        self._summary: dict[str, Any] = {}
        self._practice: dict[str, Any] = {}

    # ---- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> None:
        settings: dict[str, Any] = {"seed": self._seed, "anchor": DEFAULT_ANCHOR}
        if self._version is not None:
            settings["version"] = self._version
        self._server = EaglesoftSandbox(SandboxConfig(**settings)).run_in_thread()
        self._admin = httpx.Client(base_url=self._server.base_url, timeout=10.0)
        self._summary = self._admin_json("GET", "/_admin/summary")
        self._practice = next(p for p in self._summary["practices"] if p["timeZone"] == _PRACTICE_ZONE)
        self.known = _known_records(self._summary, self._practice, self._seed)

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
        if self._server is not None:
            self._server.stop()

    def connection(self) -> dict[str, Any]:
        """Registry ``connection`` settings for the seeded practice; secrets as plain values for ``{env:}``."""
        assert self._server is not None, "start() first"
        credentials = self._summary["credentials"]
        return {
            "base_url": self._server.base_url,
            "practice_id": str(self._practice["PracticeId"]),
            "integration_key": credentials["IntegrationKey"],
            "user_id": credentials["UserId"],
            "password": credentials["Password"],
            "server_time_zone": self._summary["serverZone"],
            "location_time_zones": {str(p["PracticeId"]): p["timeZone"] for p in self._summary["practices"]},
        }

    def make_adapter(self, overrides: AdapterOverrides = AdapterOverrides()) -> EaglesoftAdapter:
        assert self._server is not None, "start() first"
        credentials = self._summary["credentials"]
        settings: dict[str, Any] = {
            "base_url": self._server.base_url,
            "practice_id": str(self._practice["PracticeId"]),
            "integration_key": SecretStr(credentials["IntegrationKey"]),
            "user_id": credentials["UserId"],
            "password": SecretStr(credentials["Password"]),
            "time_zone": self._practice["timeZone"],
            "server_time_zone": self._summary["serverZone"],
            "location_time_zones": {str(p["PracticeId"]): p["timeZone"] for p in self._summary["practices"]},
        }
        settings.update(overrides.settings())
        config = EaglesoftConfig(**settings)
        # In-call backoff kept short so retried bursts stay quick; the policy's logic is unchanged.
        retry = RetryPolicy(max_attempts=config.max_attempts, base_delay=0.05, max_delay=0.2)
        return EaglesoftAdapter(config, retry=retry)

    # ---- faults, sessions, logs --------------------------------------------------------------------------

    def set_faults(self, *faults: Fault) -> None:
        self._admin_json("POST", "/_admin/faults", json={"rules": [self._rule(f) for f in faults]})

    def revoke_tokens(self) -> None:
        self._admin_json("POST", "/_admin/sessions/revoke")

    def requests(self, since: float = 0.0) -> list[LoggedRequest]:
        return [_logged(line) for line in self._request_lines(since)]

    @property
    def summary(self) -> dict[str, Any]:
        """The sandbox's ``/_admin/summary`` (for vendor-only tests)."""
        return self._summary

    def set_write_faults(self, *specs: str) -> None:
        """Eaglesoft-only write faults, e.g. ``"write_failed,count=1"`` (replaces every live fault)."""
        self._admin_json("POST", "/_admin/faults", json={"specs": list(specs)})

    def _rule(self, fault: Fault) -> dict[str, Any]:
        path = self._path(fault.resource)
        return fault_rule(
            fault, path=path, write_methods="POST|PUT|DELETE", lost_response_s=_LOST_RESPONSE_HOLD_S
        )

    def _path(self, resource: Resource | None) -> str:
        if resource is None:
            return API_BASE
        return {
            Resource.LOCATIONS: "/practices",
            Resource.OPERATORIES: f"/practices/{self._practice['PracticeId']}/chairs",
            Resource.AUTH: "/session",
            Resource.OTHER: "/system",
        }.get(resource, f"/{resource.value}")


def _resource(path: str) -> tuple[Resource, str | None]:
    """The resource of a logged path, and what followed it (see ``LoggedRequest.record_path``)."""
    head, _, rest = path.removeprefix(API_BASE).strip("/").partition("/")
    if head == "session":
        return Resource.AUTH, None
    if head == "practices":
        if rest.count("/") == 1 and rest.endswith("/chairs"):
            return Resource.OPERATORIES, None
        return Resource.LOCATIONS, rest or None
    if head in ("patients", "appointments"):
        return Resource(head), rest or None
    return Resource.OTHER, rest or None


def _logged(line: dict[str, Any]) -> LoggedRequest:
    resource, record_path = _resource(line["path"])
    return LoggedRequest(
        time=float(line["time"]),
        method=line["method"],
        resource=resource,
        is_write=resource is not Resource.AUTH and line["method"] in ("POST", "PUT", "DELETE"),
        status=line["status"],
        record_path=record_path,
    )


def _known_records(summary: dict[str, Any], practice: dict[str, Any], seed: int) -> KnownRecords:
    practice_id = practice["PracticeId"]
    chair = next(c for c in practice["chairs"] if c["Hidden"] == "N")
    # The seed is deterministic: rebuild it to learn what the summary does not list (the patients).
    data = build_seed(seed, date.fromisoformat(summary["anchor"]))
    everyone = data.records["patients"]
    patients = [p for p in everyone if p["PracticeId"] == practice_id]
    by_last = Counter(p["LastName"] for p in patients)
    last_name = min(by_last, key=lambda name: (-by_last[name], name))
    patient = random.Random(seed).choice([p for p in patients if p["LastName"] == last_name])
    return KnownRecords(
        dst_location_id=str(practice_id),
        dst_location_zone=practice["timeZone"],
        operatory_id=str(chair["ChairNum"]),
        provider_id=practice["providers"][0],
        patient_id=str(patient["PatientId"]),
        patient_last_name=last_name,
        patient_first_name=patient["FirstName"],
        patient_date_of_birth=date.fromisoformat(patient["BirthDate"]),
        patient_ids_with_last_name=frozenset(
            str(p["PatientId"]) for p in patients if p["LastName"] == last_name
        ),
        phi=_phi(everyone),
    )


def _phi(patients: list[dict[str, Any]]) -> tuple[str, ...]:
    values: set[str] = set()
    for p in patients:
        values.update(v for v in (p["FirstName"], p["LastName"], p["BirthDate"], p["EmailAddress"]) if v)
        for column in ("CellPhone", "HomePhone", "WorkPhone"):
            if p[column]:
                values.add(p[column])
                values.add("".join(c for c in p[column] if c.isdigit()))
    return tuple(sorted(values))
