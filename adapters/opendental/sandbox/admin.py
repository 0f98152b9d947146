"""The Open Dental sandbox's admin routes: the shared fault, outage and request-log routes, plus summary,
reset, credential revocation, counts by reference and raw records. No auth; never faulted. Shapes are
documented in the package docstring.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.opendental.sandbox.store import ID_KEYS
from adapters.sandbox.admin import FaultAdmin, admin_error, json_body
from adapters.sandbox.routing import path_param

if TYPE_CHECKING:
    from adapters.opendental.sandbox.app import OpenDentalSandbox

__all__ = ["OpenDentalAdmin"]


class OpenDentalAdmin:
    def __init__(self, sandbox: OpenDentalSandbox) -> None:
        self.sandbox = sandbox
        self.fault_admin = FaultAdmin(sandbox.engine, sandbox.request_log)

    def routes(self) -> list[Route]:
        return [
            Route("/_admin/summary", self.summary, methods=["GET"]),
            Route("/_admin/reset", self.reset, methods=["POST"]),
            Route("/_admin/tokens/revoke", self.revoke, methods=["POST"]),
            Route("/_admin/credentials/revoke", self.revoke, methods=["POST"]),
            Route("/_admin/count", self.count, methods=["GET"]),
            Route("/_admin/records/{resource}/{record_id}", self.record, methods=["GET"]),
            *self.fault_admin.routes(),
        ]

    async def summary(self, request: Request) -> Response:
        return JSONResponse(self.sandbox_summary())

    def sandbox_summary(self) -> dict[str, Any]:
        sandbox = self.sandbox
        config, data = sandbox.config, sandbox.seed_data
        return {
            "seed": data.seed,
            "anchor": data.anchor.isoformat(),
            "apiBase": "/api/v1",
            "version": config.version,
            "developerKey": config.developer_key,
            "ratePerSecond": config.rate_per_second,
            "gatewayTimeoutSeconds": config.gateway_timeout_s,
            "credentialTtlSeconds": config.credential_ttl_s,
            "offices": [self._office(number) for number in sorted(sandbox.databases)],
        }

    def _office(self, number: int) -> dict[str, Any]:
        db = self.sandbox.databases[number]
        office = db.office
        operatories = db.list_visible("operatories")
        return {
            "office": number,
            "name": office.name,
            "customerKey": office.customer_key,
            "timeZone": office.zone,
            "clinics": [
                {
                    "ClinicNum": c["ClinicNum"],
                    "Description": c["Description"],
                    "IsHidden": c["IsHidden"],
                    "timeZone": office.clinic_zones[c["ClinicNum"]],
                }
                for c in db.list_visible("clinics")
            ],
            "operatories": [
                {"OperatoryNum": o["OperatoryNum"], "ClinicNum": o["ClinicNum"], "IsHidden": o["IsHidden"]}
                for o in operatories
            ],
            "providers": [p["ProvNum"] for p in db.list_visible("providers")],
            "appointmentTypes": [t["AppointmentTypeName"] for t in db.list_visible("appointmenttypes")],
            "counts": db.counts(),
            "planted": office.planted,
        }

    async def reset(self, request: Request) -> Response:
        try:
            body = await json_body(request)
            seed = int(body.get("seed", self.sandbox.seed_data.seed))
            anchor = (
                date.fromisoformat(body["anchor"]) if body.get("anchor") else self.sandbox.seed_data.anchor
            )
        except (ValueError, TypeError, AttributeError):
            return admin_error('body must be {"seed": <int>, "anchor": "YYYY-MM-DD"} (both optional)')
        self.sandbox.load(seed, anchor)
        self.sandbox.reset_faults()
        self.sandbox.request_log.clear()
        return JSONResponse(self.sandbox_summary())

    async def revoke(self, request: Request) -> Response:
        return JSONResponse({"revoked": self.sandbox.revoke_credentials()})

    async def count(self, request: Request) -> Response:
        reference = request.query_params.get("reference")
        if not reference:
            return admin_error("reference is required")
        records = [
            {"office": number, "resource": resource, "id": record_id}
            for number, db in sorted(self.sandbox.databases.items())
            for resource, record_id in db.with_reference(reference)
        ]
        return JSONResponse({"reference": reference, "count": len(records), "records": records})

    async def record(self, request: Request) -> Response:
        resource, raw_id = path_param(request, "resource"), path_param(request, "record_id")
        office = request.query_params.get("office", "1")
        db = self.sandbox.databases.get(int(office)) if office.isdigit() else None
        if resource not in ID_KEYS or db is None or not raw_id.isdigit():
            return admin_error("no such resource, office or record", 404)
        record = db.get(resource, int(raw_id))
        if record is None:
            return admin_error("no such record", 404)
        return JSONResponse({"office": int(office), "record": record})
