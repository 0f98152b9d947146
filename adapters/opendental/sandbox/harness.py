"""The contract suite's :class:`~adapters.sandbox.harness.SandboxHarness` for Open Dental: the Open Dental sandbox
in a thread of this process, driven through its documented admin API (``/_admin``), and an
``OpenDentalAdapter`` for the seeded office with clinics (its Manhattan clinic observes daylight-saving time).

Vendor translations kept here, out of the suite:

- resources: ``/clinics`` are locations, ``/operatories`` operatories; ``/preferences`` and
  ``/appointmenttypes`` are "other"; the sandbox's credential check (``POST /hq/credentials``, logged when a
  key pair is validated anew, e.g. after :meth:`revoke_tokens`) is the "auth" call: Open Dental has no token to
  refresh, its API revalidates the key pair itself;
- ``/appointments/{id}/Confirm`` and ``/Break`` name the appointment ``{id}``;
- the pace: the sandbox throttles each key as the real API does, but at 50 requests a second instead of one,
  and the adapter paces itself at 20 (a test may slow it further), so the suite runs in seconds. The real
  pace, one request a second, is the adapter's default and has its own tests.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from typing import Any

import httpx
from pydantic import SecretStr

from adapters.http import RetryPolicy
from adapters.opendental.adapter import OpenDentalAdapter
from adapters.opendental.config import OpenDentalConfig
from adapters.opendental.sandbox.app import API_BASE, OpenDentalSandbox
from adapters.opendental.sandbox.config import SandboxConfig
from adapters.opendental.sandbox.keys import CREDENTIAL_CHECK_PATH
from adapters.opendental.sandbox.seed import DEFAULT_ANCHOR, build_seed
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

__all__ = ["OpenDentalHarness"]

_SEED = 42
_SANDBOX_RATE = 50.0
_ADAPTER_RATE = 20.0
_DST_ZONE = "America/New_York"
_RESOURCES = {
    "patients": Resource.PATIENTS,
    "appointments": Resource.APPOINTMENTS,
    "clinics": Resource.LOCATIONS,
    "operatories": Resource.OPERATORIES,
}
_PATHS = {
    Resource.LOCATIONS: "/clinics",
    Resource.OPERATORIES: "/operatories",
    Resource.AUTH: CREDENTIAL_CHECK_PATH,  # made by the sandbox itself: no fault rule can reach it
    Resource.OTHER: "/preferences",
}
_ACTIONS = ("/Confirm", "/Break")


class OpenDentalHarness(AdminApi):
    vendor = "opendental"

    def __init__(
        self,
        seed: int = _SEED,
        *,
        office: int = 1,
        rate_per_second: float = _SANDBOX_RATE,
        gateway_timeout_s: float = 60.0,
    ) -> None:
        self._seed = seed
        self._office_number = office
        self._settings = {"rate_per_second": rate_per_second, "gateway_timeout_s": gateway_timeout_s}
        self._server: RunningServer | None = None
        self._admin: httpx.Client | None = None
        self._summary: dict[str, Any] = {}
        self._office: dict[str, Any] = {}

    # ---- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> None:
        config = SandboxConfig(seed=self._seed, anchor=DEFAULT_ANCHOR, **self._settings)
        self.sandbox = OpenDentalSandbox(config)
        self._server = self.sandbox.run_in_thread()
        self._admin = httpx.Client(base_url=self._server.base_url, timeout=10.0)
        self._summary = self._admin_json("GET", "/_admin/summary")
        self._office = next(o for o in self._summary["offices"] if o["office"] == self._office_number)
        self.known = _known_records(self._summary, self._office, self._seed)

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
        if self._server is not None:
            self._server.stop()

    @property
    def summary(self) -> dict[str, Any]:
        """The sandbox's ``/_admin/summary`` (for vendor-only tests)."""
        return self._summary

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        return self._server.base_url

    def connection(self) -> dict[str, Any]:
        """Registry ``connection`` settings for the seeded office; secrets as plain values for ``{env:}``."""
        return {
            "base_url": self.base_url,
            "developer_key": self._summary["developerKey"],
            "customer_key": self._office["customerKey"],
            "time_zone": self._office["timeZone"],
            "clinic_time_zones": {str(c["ClinicNum"]): c["timeZone"] for c in self._office["clinics"]},
        }

    def make_adapter(self, overrides: AdapterOverrides = AdapterOverrides()) -> OpenDentalAdapter:
        settings: dict[str, Any] = {
            **self.connection(),
            "developer_key": SecretStr(self._summary["developerKey"]),
            "customer_key": SecretStr(self._office["customerKey"]),
            "rate_per_second": _ADAPTER_RATE,
        }
        settings.update(overrides.settings())
        config = OpenDentalConfig(**settings)
        # In-call backoff kept short so retried bursts stay quick; the policy's logic is unchanged.
        retry = RetryPolicy(max_attempts=config.max_attempts, base_delay=0.05, max_delay=0.2)
        return OpenDentalAdapter(config, retry=retry)

    # ---- faults, credentials, logs -----------------------------------------------------------------------

    def set_faults(self, *faults: Fault) -> None:
        self._admin_json("POST", "/_admin/faults", json={"rules": [_rule(f) for f in faults]})

    def set_fault_specs(self, *specs: str) -> None:
        """Faults in the command-line form, e.g. ``"hang,seconds=2,then=answer,count=1"`` (replaces every live
        fault), for vendor-only tests of what the suite's vendor-neutral faults cannot say."""
        self._admin_json("POST", "/_admin/faults", json={"specs": list(specs)})

    def revoke_tokens(self) -> None:
        self._admin_json("POST", "/_admin/tokens/revoke")

    def requests(self, since: float = 0.0) -> list[LoggedRequest]:
        return [_logged(line) for line in self._request_lines(since)]


def _rule(fault: Fault) -> dict[str, Any]:
    resource = fault.resource
    path = API_BASE if resource is None else _PATHS.get(resource, f"/{resource.value}")
    return fault_rule(fault, path=path, write_methods="POST|PUT")


def _logged(line: dict[str, Any]) -> LoggedRequest:
    path: str = line["path"]
    if path == CREDENTIAL_CHECK_PATH:
        resource, record_path = Resource.AUTH, None
    else:
        head, _, rest = path.removeprefix(API_BASE).strip("/").partition("/")
        resource = _RESOURCES.get(head, Resource.OTHER)
        for action in _ACTIONS:
            rest = rest.removesuffix(action)
        record_path = None if rest in ("", "Simple") else rest
    return LoggedRequest(
        time=float(line["time"]),
        method=line["method"],
        resource=resource,
        is_write=resource is not Resource.AUTH and line["method"] in ("POST", "PUT"),
        status=line["status"],
        record_path=record_path,
    )


def _known_records(summary: dict[str, Any], office: dict[str, Any], seed: int) -> KnownRecords:
    clinic = next(c for c in office["clinics"] if c["timeZone"] == _DST_ZONE and c["IsHidden"] == "false")
    operatory = next(
        o for o in office["operatories"] if o["ClinicNum"] == clinic["ClinicNum"] and o["IsHidden"] == "false"
    )
    # The seed is deterministic: rebuild it to learn what the summary does not list (the patients).
    data = build_seed(seed, date.fromisoformat(summary["anchor"]), version=summary["version"])
    patients = next(o for o in data.offices if o.number == office["office"]).records["patients"]
    by_last = Counter(p["LName"] for p in patients)
    last_name = min(by_last, key=lambda name: (-by_last[name], name))
    patient = random.Random(seed).choice([p for p in patients if p["LName"] == last_name])
    return KnownRecords(
        dst_location_id=str(clinic["ClinicNum"]),
        dst_location_zone=clinic["timeZone"],
        operatory_id=str(operatory["OperatoryNum"]),
        provider_id=str(office["providers"][0]),
        patient_id=str(patient["PatNum"]),
        patient_last_name=last_name,
        patient_first_name=patient["FName"],
        patient_date_of_birth=date.fromisoformat(patient["Birthdate"]),
        patient_ids_with_last_name=frozenset(str(p["PatNum"]) for p in patients if p["LName"] == last_name),
        phi=_phi([p for o in data.offices for p in o.records["patients"]]),
    )


def _phi(patients: list[dict[str, Any]]) -> tuple[str, ...]:
    values: set[str] = set()
    for p in patients:
        values.update(v for v in (p["FName"], p["LName"], p["Birthdate"], p["Email"]) if v)
        for column in ("HmPhone", "WkPhone", "WirelessPhone"):
            if p[column]:
                values.add(p[column])
                values.add("".join(c for c in p[column] if c.isdigit()))
    return tuple(sorted(values))
