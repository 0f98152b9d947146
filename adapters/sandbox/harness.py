"""A sandbox as the adapter contract suite (``tests/contract/``) drives it, in vendor-neutral terms.

Each vendor's sandbox package implements :class:`SandboxHarness` (``adapters/<vendor>/sandbox/harness.py``)
and names it in its ``VENDOR``; the suite runs once per vendor of :data:`adapters.vendors.VENDORS`, and its
assertions never change. Faults, request logs and known records are described with the nouns of the
normalized domain (resources, reads and writes), never with a vendor's paths or field names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Protocol

import httpx

from adapters.contract import PMSInterface

__all__ = [
    "AdapterOverrides",
    "AdminApi",
    "Fault",
    "FaultKind",
    "KnownRecords",
    "LoggedRequest",
    "Resource",
    "SandboxHarness",
    "fault_rule",
]


class Resource(StrEnum):
    PATIENTS = "patients"
    APPOINTMENTS = "appointments"
    LOCATIONS = "locations"
    OPERATORIES = "operatories"
    AUTH = "auth"  # token or session calls
    OTHER = "other"


class FaultKind(StrEnum):
    SERVER_ERROR = "server_error"  # a 5xx answer, in the vendor's error dialect
    RATE_LIMIT = "rate_limit"  # 429 with Retry-After = ``retry_after_s``
    LOST_RESPONSE = "lost_response"  # the request is applied, the answer never arrives
    HANG = "hang"  # no answer for ``seconds``, then the connection drops


@dataclass(frozen=True)
class Fault:
    """One fault switch. ``count``: the next N matching requests (None: until cleared)."""

    kind: FaultKind
    resource: Resource | None = None  # None: every resource (auth calls excepted)
    writes_only: bool = False
    count: int | None = None
    retry_after_s: float = 1.0
    status: int = 503
    seconds: float = 5.0


@dataclass(frozen=True)
class AdapterOverrides:
    """Settings a test may change on the adapter it asks for; None keeps the vendor's default."""

    rate_per_second: float | None = None
    max_concurrent: int | None = None
    cache_ttl_seconds: float | None = None
    read_timeout_seconds: float | None = None
    page_size: int | None = None
    max_attempts: int | None = None

    def settings(self) -> dict[str, Any]:
        """The overrides as vendor config fields (every vendor config names them alike)."""
        fields = {
            "rate_per_second": self.rate_per_second,
            "max_concurrent": self.max_concurrent,
            "static_cache_ttl_seconds": self.cache_ttl_seconds,
            "read_timeout_seconds": self.read_timeout_seconds,
            "page_size": self.page_size,
            "max_attempts": self.max_attempts,
        }
        return {name: value for name, value in fields.items() if value is not None}


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the sandbox saw it. ``time``: Unix seconds at arrival. ``status`` None: dropped.

    ``record_path``: what followed the resource in the path, still percent-encoded as sent (``"a%2Fb"`` for
    the record ``a/b``); None for a list or a create.
    """

    time: float
    method: str
    resource: Resource
    is_write: bool
    status: int | None
    record_path: str | None = None


@dataclass(frozen=True)
class KnownRecords:
    """Seeded records the suite can rely on, by normalized id."""

    dst_location_id: str  # a location whose time zone observes daylight-saving time
    dst_location_zone: str  # its IANA zone
    operatory_id: str  # an active operatory of that location
    provider_id: str
    # A seeded patient's search keys; its last name is the most common one (several small pages of it).
    patient_id: str
    patient_last_name: str
    patient_first_name: str
    patient_date_of_birth: date
    patient_ids_with_last_name: frozenset[str]  # every seeded patient with exactly that last name
    # Names, birth dates (ISO), phones (as stored and as digits) and e-mails of seeded patients: none may
    # appear in a log line.
    phi: tuple[str, ...] = field(repr=False, default=())


class SandboxHarness(Protocol):
    """A vendor sandbox running in-process over real HTTP, and the means to make adapters for it."""

    vendor: str
    known: KnownRecords

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def make_adapter(self, overrides: AdapterOverrides = AdapterOverrides()) -> PMSInterface:
        """A fresh adapter (own connection pool, token cache and static cache) for the seeded practice."""

    def set_faults(self, *faults: Fault) -> None:
        """Replace the live faults (an empty call clears them)."""

    def revoke_tokens(self) -> None:
        """Invalidate every token or session the sandbox has issued, as an expiry mid-run would."""

    def requests(self, since: float = 0.0) -> list[LoggedRequest]:
        """The request log from ``since`` (Unix seconds), oldest first."""

    def clear_requests(self) -> None: ...

    def count_by_reference(self, reference: str) -> int:
        """How many records (of any kind) carry the integrator reference ``reference``."""


class AdminApi:
    """The sandboxes' shared admin API (``adapters/sandbox/admin.py``), as a harness base: ``_admin`` is set
    by the vendor's ``start()``."""

    _admin: httpx.Client | None = None

    def clear_requests(self) -> None:
        self._admin_json("DELETE", "/_admin/requests")

    def count_by_reference(self, reference: str) -> int:
        return int(self._admin_json("GET", "/_admin/count", params={"reference": reference})["count"])

    def _request_lines(self, since: float) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = self._admin_json(
            "GET", "/_admin/requests", params={"since": str(since)}
        )["requests"]
        return sorted(lines, key=lambda line: line["time"])

    def _admin_json(self, method: str, path: str, **kwargs: Any) -> Any:
        assert self._admin is not None, "start() first"
        response = self._admin.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()


def fault_rule(
    fault: Fault, *, path: str, write_methods: str, lost_response_s: float | None = None
) -> dict[str, Any]:
    """A vendor-neutral :class:`Fault` as a rule of the shared fault engine (``adapters/sandbox/faults.py``)."""
    rule: dict[str, Any] = {"path": path}
    if fault.writes_only:
        rule["method"] = write_methods
    if fault.count is not None:
        rule["count"] = fault.count
    if fault.kind is FaultKind.SERVER_ERROR:
        rule.update(kind="error", status=fault.status)
    elif fault.kind is FaultKind.RATE_LIMIT:
        rule.update(kind="rate_limit", retry_after_s=fault.retry_after_s)
    elif fault.kind is FaultKind.LOST_RESPONSE:
        rule.update(kind="lost_response")
        if lost_response_s is not None:
            rule["seconds"] = lost_response_s
    else:
        rule.update(kind="hang", seconds=fault.seconds, then="drop")
    return rule
