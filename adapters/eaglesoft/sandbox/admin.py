"""The Eaglesoft sandbox's admin routes: the shared fault/outage/request-log routes, with ``/_admin/faults``
extended to the write faults, plus summary, reset, session revocation, counts by reference, raw records and
the write log. No auth; never faulted. Shapes are documented in the package docstring.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.eaglesoft.sandbox.writes import WriteFaultRule, is_write_fault, parse_write_fault_spec
from adapters.sandbox.admin import FaultAdmin, admin_error, json_body
from adapters.sandbox.faults import FaultRule, parse_fault_spec, rules_from_json
from adapters.sandbox.routing import path_param

if TYPE_CHECKING:
    from adapters.eaglesoft.sandbox.app import EaglesoftSandbox

__all__ = ["EaglesoftAdmin", "split_fault_specs"]

_RESOURCES = {"patients", "appointments", "practices", "chairs", "providers"}


def split_fault_specs(specs: list[str]) -> tuple[list[FaultRule], list[WriteFaultRule]]:
    """Command-line fault specs, each to the engine that knows its kind."""
    shared = [parse_fault_spec(s) for s in specs if not is_write_fault(s)]
    writes = [parse_write_fault_spec(s) for s in specs if is_write_fault(s)]
    return shared, writes


def _plan(body: Any) -> tuple[list[FaultRule], list[WriteFaultRule], int | None]:
    items = body if isinstance(body, list) else None
    if items is None:
        if not isinstance(body, dict) or set(body) - {"rules", "specs", "seed"}:
            raise ValueError('expected {"rules": [...], "specs": [...], "seed": n} or a list of rules')
        items = body.get("rules", [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError("rules must be a list of objects")
    specs = body.get("specs", []) if isinstance(body, dict) else []
    if not isinstance(specs, list):
        raise ValueError("specs must be a list of strings")
    shared, writes = split_fault_specs([str(s) for s in specs])
    shared = rules_from_json([i for i in items if not is_write_fault(i)]) + shared
    writes = [WriteFaultRule.model_validate(i) for i in items if is_write_fault(i)] + writes
    seed = body.get("seed") if isinstance(body, dict) else None
    return shared, writes, None if seed is None else int(seed)


class EaglesoftAdmin:
    def __init__(self, sandbox: EaglesoftSandbox) -> None:
        self.sandbox = sandbox
        self.fault_admin = FaultAdmin(sandbox.engine, sandbox.request_log)

    def routes(self) -> list[Route]:
        shared = [r for r in self.fault_admin.routes() if r.path != "/_admin/faults"]
        return [
            Route("/_admin/faults", self.get_faults, methods=["GET"]),
            Route("/_admin/faults", self.set_faults, methods=["POST"]),
            Route("/_admin/faults", self.clear_faults, methods=["DELETE"]),
            Route("/_admin/summary", self.summary, methods=["GET"]),
            Route("/_admin/reset", self.reset, methods=["POST"]),
            Route("/_admin/sessions/revoke", self.revoke, methods=["POST"]),
            Route("/_admin/tokens/revoke", self.revoke, methods=["POST"]),
            Route("/_admin/count", self.count, methods=["GET"]),
            Route("/_admin/records/{resource}/{record_id}", self.record, methods=["GET"]),
            Route("/_admin/writes", self.writes, methods=["GET"]),
            *shared,
        ]

    def _faults(self) -> dict[str, Any]:
        return {**self.sandbox.engine.describe(), "writeRules": self.sandbox.write_faults.describe()}

    async def get_faults(self, request: Request) -> Response:
        return JSONResponse(self._faults())

    async def set_faults(self, request: Request) -> Response:
        try:
            shared, writes, seed = _plan(await json_body(request))
        except (ValueError, ValidationError) as exc:
            return admin_error(f"invalid fault plan: {exc}")
        if request.query_params.get("append") == "true":
            for rule in shared:
                self.sandbox.engine.add(rule)
            for write_rule in writes:
                self.sandbox.write_faults.add(write_rule)
        else:
            self.sandbox.engine.replace(shared, seed=seed)
            self.sandbox.write_faults.replace(writes, seed=seed)
        return JSONResponse(self._faults())

    async def clear_faults(self, request: Request) -> Response:
        self.sandbox.engine.clear()
        self.sandbox.write_faults.replace(())
        return JSONResponse(self._faults())

    async def summary(self, request: Request) -> Response:
        return JSONResponse(self.sandbox_summary())

    def sandbox_summary(self) -> dict[str, Any]:
        sandbox = self.sandbox
        sandbox.settle()
        config, data, store = sandbox.config, sandbox.seed_data, sandbox.store
        chairs = store.list_visible(None, "chairs")
        return {
            "seed": data.seed,
            "anchor": data.anchor.isoformat(),
            "apiBase": "/api/v1",
            "version": config.version,
            "credentials": {
                "IntegrationKey": config.integration_key,
                "UserId": config.user_id,
                "Password": config.password,
            },
            "sessionTtlSeconds": config.session_ttl_s,
            "serverZone": config.server_zone,
            "writeDelayMs": list(config.write_delay_ms),
            "practices": [
                {
                    "PracticeId": p["PracticeId"],
                    "Name": p["Name"],
                    "timeZone": data.zones[p["PracticeId"]],
                    "chairs": [
                        {"ChairNum": c["ChairNum"], "Hidden": c["Hidden"]}
                        for c in chairs
                        if c["PracticeId"] == p["PracticeId"]
                    ],
                    "providers": [r["ProviderId"] for r in store.list_visible(p["PracticeId"], "providers")],
                    "counts": store.counts(p["PracticeId"]),
                }
                for p in store.list_visible(None, "practices")
            ],
            "planted": data.planted,
        }

    async def reset(self, request: Request) -> Response:
        try:
            body = await json_body(request)
            seed = int(body.get("seed", self.sandbox.seed_data.seed))
        except (ValueError, TypeError, AttributeError):
            return admin_error('body must be {"seed": <int>} (optional)')
        self.sandbox.load(seed)
        self.sandbox.reset_faults()
        self.sandbox.request_log.clear()
        return JSONResponse(self.sandbox_summary())

    async def revoke(self, request: Request) -> Response:
        return JSONResponse({"revoked": self.sandbox.revoke_sessions()})

    async def count(self, request: Request) -> Response:
        reference = request.query_params.get("reference")
        if not reference:
            return admin_error("reference is required")
        self.sandbox.settle()
        found = self.sandbox.store.with_reference(reference)
        records = [{"resource": res, "id": rid, "practiceId": pid} for res, rid, pid in found]
        return JSONResponse({"reference": reference, "count": len(found), "records": records})

    async def record(self, request: Request) -> Response:
        resource, raw_id = path_param(request, "resource"), path_param(request, "record_id")
        if resource not in _RESOURCES:
            return admin_error("no such resource", 404)
        self.sandbox.settle()
        found = self.sandbox.store.find_anywhere(resource, int(raw_id) if raw_id.isdigit() else raw_id)
        if found is None:
            return admin_error("no such record", 404)
        practice_id, record = found
        return JSONResponse({"practiceId": practice_id, "deleted": record is None, "record": record})

    async def writes(self, request: Request) -> Response:
        self.sandbox.settle()
        return JSONResponse(
            {"writes": [{**w.as_json(), "PracticeId": w.practice_id} for w in self.sandbox.writes.all()]}
        )
