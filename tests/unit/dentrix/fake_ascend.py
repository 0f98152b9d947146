"""A scriptable in-memory Ascend for ``httpx.MockTransport``: just enough dialect for adapter edge cases."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

PREFIX = "/ascend-gateway/api/v1/"
ORG = "0123456789abcdef01234567"


def fault(code: str) -> dict[str, Any]:
    return {"fault": {"faultstring": "x", "detail": {"errorcode": code}}}


def _matches(row: dict[str, Any], clause: str) -> bool:
    for op in ("==", "!=", ">=", "<=", "~=", "->"):
        if op in clause:
            name, value = clause.split(op, 1)
            break
    else:
        raise AssertionError(f"bad clause {clause}")
    if name == "phones.number":
        numbers = ["".join(c for c in str(p.get("number")) if c.isdigit()) for p in row.get("phones") or []]
        return any(value in n for n in numbers)
    actual: Any = row
    for part in name.split("."):
        actual = actual.get(part) if isinstance(actual, dict) else None
    if name == "lastModified":
        return True
    text = "" if actual is None else str(actual)
    value = value.replace("\\,", ",")
    return {
        "==": lambda: text == value,
        "!=": lambda: text != value,
        ">=": lambda: text >= value,
        "<=": lambda: text <= value,
        "~=": lambda: value.lower() in text.lower(),
        "->": lambda: text in value.strip("[]").split(","),
    }[op]()


@dataclass
class FakeAscend:
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    # (method, resource) -> a callable answering instead of the table (return None to fall through)
    overrides: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response | None]] = field(
        default_factory=dict
    )
    tokens_issued: int = 0
    valid_tokens: set[str] = field(default_factory=set)
    expires_in: str = "3599"
    next_id: int = 9000

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def data_requests(self, method: str | None = None, resource: str | None = None) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if r.url.path.startswith(PREFIX)
            and (method is None or r.method == method)
            and (resource is None or r.url.path.removeprefix(PREFIX).split("/")[0] == resource)
        ]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/oauth/client_credential/accesstoken":
            return self._token(request)
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.valid_tokens:
            return httpx.Response(401, json=fault("oauth.v2.InvalidAccessToken"))
        assert request.headers["Organization-ID"] == ORG
        parts = request.url.path.removeprefix(PREFIX).split("/")
        override = self.overrides.get((request.method, parts[0]))
        if override is not None and (answer := override(request)) is not None:
            return answer
        return self._table(request, parts[0], parts[1] if len(parts) > 1 else None)

    def _token(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        assert request.url.params["grant_type"] == "client_credentials"
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        form = parse_qs(request.content.decode())
        if form != {"client_id": ["cid"], "client_secret": ["s3cret"]}:
            return httpx.Response(401, json=fault("oauth.v2.InvalidApiKey"))
        self.tokens_issued += 1
        token = f"tok{self.tokens_issued}"
        self.valid_tokens.add(token)
        return httpx.Response(200, json={"access_token": token, "expires_in": self.expires_in})

    def _table(self, request: httpx.Request, resource: str, record_id: str | None) -> httpx.Response:
        rows = self.tables.setdefault(resource, [])
        if request.method == "GET" and record_id is None:
            return self._list(request, rows)
        if request.method == "POST":
            self.next_id += 1
            row = {**json.loads(request.content), "id": str(self.next_id), "type": f"{resource}V1"}
            rows.append(row)
            return httpx.Response(201, json=row)
        found = [r for r in rows if r["id"] == record_id]
        if not found:
            return httpx.Response(404, json=fault("entity.notFound"))
        if request.method == "PUT":
            found[0].clear()
            found[0].update({**json.loads(request.content), "id": record_id})
        return httpx.Response(200, json=found[0])

    def _list(self, request: httpx.Request, rows: list[dict[str, Any]]) -> httpx.Response:
        params = request.url.params
        clauses = _split(params.get("filter", ""))
        assert clauses, "list calls carry a filter"
        assert clauses[0].startswith("lastModified>="), "list calls carry lastModified>="
        size = int(params["pageSize"])
        kept = sorted((r for r in rows if all(_matches(r, c) for c in clauses)), key=lambda r: int(r["id"]))
        if "lastId" in params:
            kept = [r for r in kept if int(r["id"]) > int(params["lastId"])]
        return httpx.Response(200, json={"data": kept[:size]})


def _split(text: str) -> list[str]:
    """Clauses split on commas outside ``[...]`` lists and not escaped as ``\\,``."""
    out: list[str] = []
    current, depth, escaped = "", 0, False
    for char in text:
        if escaped:
            current, escaped = current + "\\" + char, False
        elif char == "\\":
            escaped = True
        elif char == "," and depth == 0:
            out.append(current)
            current = ""
        else:
            depth += {"[": 1, "]": -1}.get(char, 0)
            current += char
    return [*out, current] if current else out
