"""Admin routes every vendor sandbox mounts under ``/_admin`` (no auth; not part of any vendor dialect).

- ``GET /_admin/faults``: the live plan, each rule with its ``matched``/``fired`` counters.
- ``POST /_admin/faults``: replace the plan. Body: ``{"rules": [{...FaultRule...}], "specs": ["KIND,k=v"],
  "seed": 7}`` (any of the keys) or a bare list of rule objects. ``?append=true`` adds to the live plan.
- ``DELETE /_admin/faults``: no faults.
- ``POST /_admin/outage``: ``{"seconds": 2}``: stop listening (connection refused) for that long, when the
  server runs under :mod:`adapters.sandbox.runner`; requests on connections already open are aborted too.
- ``GET /_admin/requests``: the request log ``{"requests": [{time, method, path, status, faults}]}``, each
  path as sent (percent-encoded, :mod:`adapters.sandbox.routing`);
  ``?since=<unix seconds>`` and ``?path=<prefix>`` narrow it. ``DELETE /_admin/requests`` empties it.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters.sandbox.faults import FaultEngine, FaultKind, FaultRule, parse_fault_spec, rules_from_json
from adapters.sandbox.request_log import RequestLog
from adapters.sandbox.runner import ListenerControl

__all__ = ["FaultAdmin", "admin_error"]


def admin_error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def json_body(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw.strip() else {}


class FaultAdmin:
    """The fault, outage and request-log routes of one sandbox."""

    def __init__(self, engine: FaultEngine, request_log: RequestLog) -> None:
        self.engine = engine
        self.request_log = request_log
        self.listener: ListenerControl | None = None

    def attach_listener(self, listener: ListenerControl) -> None:
        self.listener = listener

    def routes(self) -> list[Route]:
        return [
            Route("/_admin/faults", self.get_faults, methods=["GET"]),
            Route("/_admin/faults", self.set_faults, methods=["POST"]),
            Route("/_admin/faults", self.clear_faults, methods=["DELETE"]),
            Route("/_admin/outage", self.outage, methods=["POST"]),
            Route("/_admin/requests", self.get_requests, methods=["GET"]),
            Route("/_admin/requests", self.clear_requests, methods=["DELETE"]),
        ]

    async def get_faults(self, request: Request) -> JSONResponse:
        return JSONResponse(self.engine.describe())

    async def set_faults(self, request: Request) -> JSONResponse:
        try:
            rules, seed = _plan_from_body(await json_body(request))
        except (ValueError, ValidationError) as exc:
            return admin_error(f"invalid fault plan: {exc}")
        if request.query_params.get("append") == "true":
            for rule in rules:
                self.engine.add(rule)
        else:
            self.engine.replace(rules, seed=seed)
        return JSONResponse(self.engine.describe())

    async def clear_faults(self, request: Request) -> JSONResponse:
        self.engine.clear()
        return JSONResponse(self.engine.describe())

    async def outage(self, request: Request) -> JSONResponse:
        try:
            seconds = float((await json_body(request)).get("seconds", 1.0))
        except (ValueError, AttributeError, TypeError):
            return admin_error('body must be {"seconds": <number>}')
        if seconds <= 0:
            return admin_error("seconds must be positive")
        # Connections that are already open (keep-alive) would otherwise keep working through the outage.
        self.engine.add(FaultRule(kind=FaultKind.REFUSE, duration_s=seconds))
        if self.listener is not None:
            self.listener.outage(seconds)
        return JSONResponse({"seconds": seconds, "listener_closed": self.listener is not None})

    async def get_requests(self, request: Request) -> JSONResponse:
        since = float(request.query_params.get("since", "0") or 0)
        prefix = request.query_params.get("path", "")
        lines = [
            r.as_json() for r in self.request_log.lines() if r.time >= since and r.path.startswith(prefix)
        ]
        return JSONResponse({"requests": lines})

    async def clear_requests(self, request: Request) -> JSONResponse:
        self.request_log.clear()
        return JSONResponse({"requests": []})


def _plan_from_body(body: Any) -> tuple[list[FaultRule], int | None]:
    if isinstance(body, list):
        return rules_from_json(body), None
    if not isinstance(body, dict):
        raise ValueError("expected an object or a list of rules")
    unknown = set(body) - {"rules", "specs", "seed"}
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    rules = rules_from_json(body.get("rules", []))
    specs = body.get("specs", [])
    if not isinstance(specs, list):
        raise ValueError("specs must be a list of strings")
    rules += [parse_fault_spec(str(spec)) for spec in specs]
    seed = body.get("seed")
    return rules, None if seed is None else int(seed)
