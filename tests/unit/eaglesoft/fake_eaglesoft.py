"""A scriptable in-memory Eaglesoft for ``httpx.MockTransport``: just enough dialect for adapter edge cases.

Writes are asynchronous as in the real API. Each accepted write takes its fate from ``fates`` (first in,
first used; default ``"completed"``): ``"completed"`` (Pending on the first poll, applied and Completed on the
next), ``"failed:<ErrorCode>"`` (Pending once, then Failed, nothing applied), ``"stuck"`` (Pending until
:meth:`FakeEaglesoft.settle_stuck` applies it).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

PREFIX = "/api/v1"
PRACTICE = "1"
Row = dict[str, Any]


def error(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"ErrorCode": code, "Message": "x"})


@dataclass
class _Write:
    write_id: str
    method: str
    resource: str
    record_id: str | None
    body: Row | None
    fate: str
    polls: int = 0
    status: str = "Pending"
    entity_id: int | None = None
    error_code: str | None = None


@dataclass
class FakeEaglesoft:
    version: str = "21.20.05"
    tables: dict[str, list[Row]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    fates: list[str] = field(default_factory=list)
    writes: dict[str, _Write] = field(default_factory=dict)
    valid_tokens: set[str] = field(default_factory=set)
    logins: int = 0
    expires_at: str = "2099-01-01T00:00:00"
    # (method, resource) -> a callable answering instead of the table (return None to fall through)
    overrides: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response | None]] = field(
        default_factory=dict
    )
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(9001))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def data_requests(self, method: str | None = None, resource: str | None = None) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if r.url.path != f"{PREFIX}/session"
            and (method is None or r.method == method)
            and (resource is None or r.url.path.removeprefix(PREFIX + "/").split("/")[0] == resource)
        ]

    def revoke(self) -> None:
        self.valid_tokens.clear()

    def settle_stuck(self) -> None:
        for write in self.writes.values():
            if write.fate == "stuck" and write.status == "Pending":
                self._apply(write)

    # ---- dispatch ------------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix(PREFIX)
        if path == "/session":
            return self._login(request)
        if path == "/system":
            return httpx.Response(200, json={"ProductName": "Eaglesoft", "Version": self.version})
        if request.headers.get("X-Session-Token") not in self.valid_tokens:
            return error(401, "SessionExpired")
        assert request.headers["X-Practice-Id"] == PRACTICE
        parts = path.strip("/").split("/")
        override = self.overrides.get((request.method, parts[0]))
        if override is not None and (answer := override(request)) is not None:
            return answer
        if parts[0] == "writes":
            return self._write_status(parts[1])
        if parts[0] == "practices" and len(parts) == 3:
            return self._list(
                request, [c for c in self.tables.get("chairs", []) if str(c["PracticeId"]) == parts[1]]
            )
        record_id = parts[1] if len(parts) > 1 else None
        if request.method == "GET":
            return self._read(request, parts[0], record_id)
        return self._accept(request, parts[0], record_id)

    def _login(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body != {"IntegrationKey": "key", "UserId": "relay", "Password": "pw"}:
            return error(401, "InvalidCredentials")
        self.logins += 1
        token = f"s{self.logins}"
        self.valid_tokens.add(token)
        return httpx.Response(200, json={"SessionToken": token, "ExpiresAt": self.expires_at})

    # ---- reads ---------------------------------------------------------------------------------------

    def _id_key(self, resource: str) -> str:
        return {"patients": "PatientId", "appointments": "AppointmentId", "practices": "PracticeId"}[resource]

    def _read(self, request: httpx.Request, resource: str, record_id: str | None) -> httpx.Response:
        rows = self.tables.get(resource, [])
        if record_id is None:
            return self._list(request, [r for r in rows if self._matches(request.url.params, r)])
        found = [r for r in rows if str(r[self._id_key(resource)]) == record_id]
        return httpx.Response(200, json=found[0]) if found else error(404, "NotFound")

    @staticmethod
    def _matches(params: httpx.QueryParams, row: Row) -> bool:
        for name, value in params.items():
            if name in ("PageNumber", "PageSize"):
                continue
            if name == "LastName" and not str(row.get("LastName", "")).lower().startswith(value.lower()):
                return False
            if name == "NotesContains":
                notes = row.get("AppointmentNotes", row.get("PatientNotes")) or ""
                if value.lower() not in notes.lower():
                    return False
            if name in ("LocationId", "Classification") and str(row.get(name)) != value:
                return False
            if name == "StartDate" and row["EndTime"] <= value:
                return False
            if name == "EndDate" and row["StartTime"] >= value:
                return False
        return True

    @staticmethod
    def _list(request: httpx.Request, rows: list[Row]) -> httpx.Response:
        number = int(request.url.params.get("PageNumber", "1"))
        size = int(request.url.params.get("PageSize", "50"))
        assert 1 <= size <= 200
        items = rows[(number - 1) * size : number * size]
        return httpx.Response(
            200, json={"Items": items, "PageNumber": number, "PageSize": size, "TotalCount": len(rows)}
        )

    # ---- writes --------------------------------------------------------------------------------------

    def _accept(self, request: httpx.Request, resource: str, record_id: str | None) -> httpx.Response:
        if self.version.split(".")[0].isdigit() and int(self.version.split(".")[0]) < 18:
            return error(403, "VersionUnsupported")
        body = json.loads(request.content) if request.content else None
        write_id = f"w{len(self.writes) + 1}"
        fate = self.fates.pop(0) if self.fates else "completed"
        self.writes[write_id] = _Write(write_id, request.method, resource, record_id, body, fate)
        return httpx.Response(202, json={"WriteId": write_id, "Status": "Pending"})

    def _write_status(self, write_id: str) -> httpx.Response:
        write = self.writes.get(write_id)
        if write is None:
            return error(404, "NotFound")
        write.polls += 1
        if write.status == "Pending" and write.polls >= 2:
            if write.fate == "completed":
                self._apply(write)
            elif write.fate.startswith("failed:"):
                write.status, write.error_code = "Failed", write.fate.split(":", 1)[1]
        return httpx.Response(
            200,
            json={
                "WriteId": write.write_id,
                "Status": write.status,
                "EntityId": write.entity_id,
                "ErrorCode": write.error_code,
                "Reason": "a sentence" if write.error_code else None,
            },
        )

    def _apply(self, write: _Write) -> None:
        rows = self.tables.setdefault(write.resource, [])
        key = self._id_key(write.resource)
        if write.method == "POST":
            new_id = next(self._ids)
            row = {**(write.body or {}), key: new_id, "PracticeId": int(PRACTICE)}
            if write.resource == "appointments":
                row.setdefault("ConfirmationStatus", 0)
                row.setdefault("Providers", [])
                row["PatientId"] = str(row["PatientId"])
            rows.append(row)
            write.entity_id = new_id
        else:
            current = next(r for r in rows if str(r[key]) == write.record_id)
            if write.method == "DELETE":
                rows.remove(current)
            else:
                current.update(write.body or {})
            write.entity_id = int(write.record_id or 0)
        write.status = "Completed"
