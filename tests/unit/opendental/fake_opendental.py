"""A scriptable in-memory Open Dental for ``httpx.MockTransport``: just enough dialect for adapter edge cases.

Lists are bare arrays paged by ``Limit``/``Offset``; ``POST`` answers 201 with the record and a ``Location``
(or, with ``bare_writes``, an empty body: the adapter must follow the ``Location``); ``PUT`` merges the fields
sent and answers the record (or nothing). ``overrides[(method, resource)]`` answers instead of the tables
(return None to fall through). Errors are plain text, as Open Dental's.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

PREFIX = "/api/v1"
AUTHORIZATION = "ODFHIR dev-key/cust-key"
Row = dict[str, Any]
_IDS = {"patients": "PatNum", "appointments": "AptNum", "clinics": "ClinicNum", "operatories": "OperatoryNum"}


def text(status: int, message: str = "x", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, text=message, headers=headers)


@dataclass
class FakeOpenDental:
    tables: dict[str, list[Row]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    bare_writes: bool = False
    overrides: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response | None]] = field(
        default_factory=dict
    )
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(9001))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def sent(self, method: str | None = None, resource: str | None = None) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method)
            and (resource is None or r.url.path.removeprefix(PREFIX + "/").split("/")[0] == resource)
        ]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != AUTHORIZATION:
            return text(401, "Invalid DeveloperKey or CustomerKey.")
        parts = request.url.path.removeprefix(PREFIX).strip("/").split("/")
        override = self.overrides.get((request.method, parts[0]))
        if override is not None and (answer := override(request)) is not None:
            return answer
        if request.method == "GET":
            return self._read(request, parts)
        return self._write(request, parts)

    # ---- reads ---------------------------------------------------------------------------------------

    def _read(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        rows = self.tables.get(parts[0], [])
        if len(parts) == 2 and parts[1] != "Simple":
            found = [r for r in rows if str(r[_IDS[parts[0]]]) == parts[1]]
            return httpx.Response(200, json=found[0]) if found else text(404, "Not found.")
        params = request.url.params
        limit, offset = int(params.get("Limit", 100)), int(params.get("Offset", 0))
        if limit > 100:
            return text(400, "Limit cannot exceed 100.")
        kept = [r for r in rows if _matches(r, params)]
        return httpx.Response(200, json=kept[offset : offset + limit])

    # ---- writes --------------------------------------------------------------------------------------

    def _write(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        resource, body = parts[0], json.loads(request.content or b"{}")
        rows = self.tables.setdefault(resource, [])
        if request.method == "POST":
            row = {_IDS[resource]: next(self._ids), **body}
            rows.append(row)
            location = f"https://api.opendental.test{PREFIX}/{resource}/{row[_IDS[resource]]}"
            return self._answer(201, row, {"Location": location})
        found = [r for r in rows if str(r[_IDS[resource]]) == parts[1]]
        if not found:
            return text(404, "Appointment not found.")
        row = found[0]
        if parts[2:] == ["Confirm"]:
            row["Confirmed"] = 21 if body.get("confirmVal") == "Confirmed" else 19
        elif parts[2:] == ["Break"]:
            row["AptStatus"] = "Broken"
        else:
            row.update(body)
        return self._answer(200, row)

    def _answer(self, status: int, row: Row, headers: dict[str, str] | None = None) -> httpx.Response:
        if self.bare_writes:
            return httpx.Response(status, headers=headers)
        return httpx.Response(status, json=row, headers=headers)


def _matches(row: Row, params: httpx.QueryParams) -> bool:
    for name in ("Op", "ClinicNum", "PatNum"):
        if name in params and str(row.get(name)) != params[name]:
            return False
    if "LName" in params and not str(row.get("LName", "")).lower().startswith(params["LName"].lower()):
        return False
    day = str(row.get("AptDateTime", ""))[:10]
    if "dateStart" in params and day < params["dateStart"]:
        return False
    return not ("dateEnd" in params and day > params["dateEnd"])
