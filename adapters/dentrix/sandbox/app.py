"""The Dentrix Ascend sandbox app: token endpoint, the five resources, the admin API, the fault middleware.

See the package docstring (:mod:`adapters.dentrix.sandbox`) for the dialect it speaks.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.dentrix.sandbox.apigee import ApiFault, fault_response, handle_api_fault, render_decision
from adapters.dentrix.sandbox.auth import Client, TokenStore
from adapters.dentrix.sandbox.filters import FieldKind, FilterError, compile_filter, parse_filter
from adapters.dentrix.sandbox.paging import PagingError, page_request, take_page
from adapters.dentrix.sandbox.seed import RESOURCE_TYPES, SeedData, build_seed
from adapters.dentrix.sandbox.store import Store
from adapters.dentrix.sandbox.validation import (
    APPOINTMENT_FIELDS,
    PATIENT_FIELDS,
    FieldError,
    validate_appointment,
    validate_patient,
)
from adapters.sandbox.admin import FaultAdmin, admin_error, json_body
from adapters.sandbox.faults import FaultEngine, FaultRule
from adapters.sandbox.middleware import FaultMiddleware, read_lag_s
from adapters.sandbox.request_log import RequestLog
from adapters.sandbox.routing import RawPathRouting, path_param
from adapters.sandbox.runner import ListenerControl, RunningServer, run_in_thread

__all__ = ["API_BASE", "TOKEN_PATH", "DentrixSandbox", "SandboxConfig"]

API_BASE = "/ascend-gateway/api/v1"
TOKEN_PATH = "/oauth/client_credential/accesstoken"
_ORG_ID = re.compile(r"^[0-9a-fA-F]{24}$")
_WRITABLE = {"patients": validate_patient, "appointments": validate_appointment}

_ID, _TEXT, _INSTANT = FieldKind.ID, FieldKind.TEXT, FieldKind.INSTANT
_COMMON = {"id": _ID, "lastModified": _INSTANT}
FILTER_FIELDS: dict[str, dict[str, FieldKind]] = {
    "patients": {
        **_COMMON,
        **{
            f: _TEXT
            for f in (
                "firstName",
                "lastName",
                "middleName",
                "preferredName",
                "gender",
                "patientStatus",
                "chartNumber",
                "address1",
                "address2",
                "city",
                "state",
                "postalCode",
                "contactMethod",
                "languageType",
                "emailAddress",
                "notes",
            )
        },
        "dateOfBirth": FieldKind.DATE,
        "phones.number": FieldKind.PHONES,
        "preferredLocation.id": _ID,
    },
    "appointments": {
        **_COMMON,
        "title": _TEXT,
        "start": _INSTANT,
        "end": _INSTANT,
        "duration": FieldKind.INT,
        "status": _TEXT,
        "other": _TEXT,
        **{f"{ref}.id": _ID for ref in ("patient", "provider", "operatory", "location")},
    },
    "locations": {
        **_COMMON,
        **{f: _TEXT for f in ("name", "phone", "address1", "city", "state", "postalCode", "timeZone")},
    },
    "operatories": {
        **_COMMON,
        "name": _TEXT,
        "shortName": _TEXT,
        "active": FieldKind.BOOL,
        "location.id": _ID,
    },
    "providers": {
        **_COMMON,
        **{f: _TEXT for f in ("firstName", "lastName", "shortName", "title", "specialty", "npi")},
        "active": FieldKind.BOOL,
    },
}
RESPONSE_FIELDS: dict[str, frozenset[str]] = {
    "patients": frozenset({"id", "type", "lastModified", *PATIENT_FIELDS}),
    "appointments": frozenset({"id", "type", "lastModified", *APPOINTMENT_FIELDS}),
    "locations": frozenset(
        {"id", "type", "lastModified", "name", "phone", "address1", "city", "state", "postalCode", "timeZone"}
    ),
    "operatories": frozenset({"id", "type", "lastModified", "name", "shortName", "active", "location"}),
    "providers": frozenset(
        {
            "id",
            "type",
            "lastModified",
            "firstName",
            "lastName",
            "shortName",
            "title",
            "specialty",
            "npi",
            "active",
        }
    ),
}

_INVALID_TOKEN = ApiFault(401, "oauth.v2.InvalidAccessToken", "Invalid access token")


class SandboxConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 42
    # The day the seeded schedule is built around: today by default, so that this week has appointments;
    # a fixed one (the seed's DEFAULT_ANCHOR) for a reproducible run.
    anchor: date = Field(default_factory=date.today)
    token_ttl_s: int = Field(default=3599, ge=1)
    client_id: str | None = None  # replaces the first seeded client's id
    client_secret: str | None = None  # replaces the first seeded client's secret
    faults: tuple[FaultRule, ...] = ()
    fault_seed: int | None = None  # defaults to ``seed``


class DentrixSandbox:
    """One sandbox: its data, tokens, fault engine and request log, and the ASGI ``app`` serving them."""

    def __init__(self, config: SandboxConfig | None = None, *, clock: Callable[[], float] = time.monotonic):
        self.config = config or SandboxConfig()
        self._clock = clock
        self.request_log = RequestLog()
        seed = self.config.seed if self.config.fault_seed is None else self.config.fault_seed
        self.engine = FaultEngine(self.config.faults, seed=seed, clock=clock)
        self.fault_admin = FaultAdmin(self.engine, self.request_log)
        self._load(self.config.seed, self.config.anchor)
        faulted = FaultMiddleware(
            self._starlette(),
            engine=self.engine,
            request_log=self.request_log,
            render_error=render_decision,
            api_prefix=API_BASE,
            on_expire_tokens=self.revoke_tokens,
        )
        self.app = RawPathRouting(faulted)

    # ---- lifecycle ---------------------------------------------------------------------------------------

    def _load(self, seed: int, anchor: date) -> None:
        data = build_seed(seed, anchor)
        if self.config.client_id or self.config.client_secret:
            first = data.clients[0]
            data.clients[0] = Client(
                self.config.client_id or first.client_id,
                self.config.client_secret or first.client_secret,
                first.name,
                first.organization_ids,
            )
        same_clients = getattr(self, "seed_data", None) is not None and self.seed_data.clients == data.clients
        self.seed_data: SeedData = data
        self.store = Store(data, clock=self._clock)
        if not same_clients:
            self.tokens = TokenStore(data.clients, self.config.token_ttl_s, clock=self._clock)

    def revoke_tokens(self) -> int:
        return self.tokens.revoke_all()

    def attach_listener(self, listener: ListenerControl) -> None:
        self.fault_admin.attach_listener(listener)

    def run_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
        return run_in_thread(self.app, host, port, on_listener=self.attach_listener)

    def summary(self) -> dict[str, Any]:
        data = self.seed_data
        return {
            "seed": data.seed,
            "anchor": data.anchor.isoformat(),
            "tokenPath": TOKEN_PATH,
            "apiBase": API_BASE,
            "tokenTtlSeconds": self.config.token_ttl_s,
            "clients": [
                {
                    "name": c.name,
                    "clientId": c.client_id,
                    "clientSecret": c.client_secret,
                    "organizationIds": list(c.organization_ids),
                }
                for c in data.clients
            ],
            "organizations": [self._org_summary(org.id, org.name) for org in data.orgs],
            "planted": data.planted,
        }

    def banner(self, base_url: str) -> list[str]:
        """What the CLI prints at start-up: base URL, the (fake) credentials and ids; never patient data."""
        summary = self.summary()
        lines = [f"base_url={base_url} seed={summary['seed']} anchor={summary['anchor']}"]
        lines += [
            f"client name={c['name']} client_id={c['clientId']} client_secret={c['clientSecret']} "
            f"organizations={','.join(c['organizationIds'])}"
            for c in summary["clients"]
        ]
        for org in summary["organizations"]:
            locations = " ".join(f"{loc['id']}({loc['timeZone']})" for loc in org["locations"])
            lines.append(f"organization id={org['id']} patients={org['patientCount']} locations={locations}")
        lines.append(f"admin: {base_url}/_admin/summary  faults: {base_url}/_admin/faults")
        return lines

    def _org_summary(self, org_id: str, name: str) -> dict[str, Any]:
        operatories = self.store.list_visible(org_id, "operatories")
        counts = self.store.counts(org_id)
        return {
            "id": org_id,
            "name": name,
            "locations": [
                {
                    "id": loc["id"],
                    "name": loc["name"],
                    "timeZone": loc["timeZone"],
                    "operatories": [
                        {"id": op["id"], "shortName": op["shortName"], "active": op["active"]}
                        for op in operatories
                        if op["location"]["id"] == loc["id"]
                    ],
                }
                for loc in self.store.list_visible(org_id, "locations")
            ],
            "providers": [p["id"] for p in self.store.list_visible(org_id, "providers")],
            "patientCount": counts["patients"],
            "appointmentCount": counts["appointments"],
        }

    # ---- routing -----------------------------------------------------------------------------------------

    def _starlette(self) -> Starlette:
        routes = [
            Route(TOKEN_PATH, self.token, methods=["POST"]),
            Route(API_BASE + "/{resource}", self.list_records, methods=["GET"]),
            Route(API_BASE + "/{resource}", self.create_record, methods=["POST"]),
            Route(API_BASE + "/{resource}/{record_id}", self.get_record, methods=["GET"]),
            Route(API_BASE + "/{resource}/{record_id}", self.update_record, methods=["PUT"]),
            Route("/_admin/summary", self.admin_summary, methods=["GET"]),
            Route("/_admin/tokens/revoke", self.admin_revoke, methods=["POST"]),
            Route("/_admin/count", self.admin_count, methods=["GET"]),
            Route("/_admin/records/{resource}/{record_id}", self.admin_record, methods=["GET"]),
            Route("/_admin/reset", self.admin_reset, methods=["POST"]),
            *self.fault_admin.routes(),
        ]
        handlers: Mapping[Any, Any] = {ApiFault: handle_api_fault, HTTPException: _http_exception}
        return Starlette(routes=routes, exception_handlers=handlers)

    # ---- token -------------------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("latin-1")).items()}
        grant = request.query_params.get("grant_type") or form.get("grant_type")
        if grant != "client_credentials":
            raise ApiFault(400, "oauth.v2.UnsupportedGrantType", "Unsupported grant type")
        client_id, secret = _basic_credentials(request) or (form.get("client_id"), form.get("client_secret"))
        client = self.tokens.authenticate(client_id or "", secret or "")
        if client is None:
            raise ApiFault(401, "oauth.v2.InvalidClientIdentifier", "Invalid client credentials")
        issued = self.tokens.issue(client)
        return JSONResponse(
            {
                "refresh_token_expires_in": "0",
                "api_product_list": "[Ascend API]",
                "api_product_list_json": ["Ascend API"],
                "organization_name": "henryschein-sandbox",
                "token_type": "BearerToken",
                "issued_at": str(int(time.time() * 1000)),
                "client_id": client.client_id,
                "access_token": issued.token,
                "application_name": client.name,
                "scope": "",
                "expires_in": str(self.tokens.ttl_s),
                "refresh_count": "0",
                "status": "approved",
            }
        )

    def _organization(self, request: Request) -> str:
        """The caller's organization id, after the token and the Organization-ID header were checked."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        client = self.tokens.client_for(token.strip()) if scheme.lower() == "bearer" else None
        if client is None:
            raise _INVALID_TOKEN
        org_id = request.headers.get("organization-id")
        if not org_id:
            raise ApiFault(400, "validation.MissingOrganizationId", "Missing Organization-ID header")
        if not _ORG_ID.match(org_id):
            raise ApiFault(
                400, "validation.InvalidOrganizationId", "Organization-ID must be 24 hex characters"
            )
        org_id = org_id.lower()
        if org_id not in client.organization_ids or not self.store.has_org(org_id):
            raise ApiFault(
                403, "access.OrganizationNotGranted", "Organization-ID is not granted to this client"
            )
        return org_id

    # ---- resources ---------------------------------------------------------------------------------------

    async def list_records(self, request: Request) -> Response:
        resource = _resource(request)
        org_id = self._organization(request)
        params = request.query_params
        try:
            keep = (
                compile_filter(parse_filter(params["filter"]), FILTER_FIELDS[resource])
                if params.get("filter")
                else (lambda _: True)
            )
        except FilterError as exc:
            raise ApiFault(400, "validation.InvalidFilter", str(exc)) from None
        try:
            paging = page_request(params.get("pageSize"), params.get("lastId"))
        except PagingError as exc:
            raise ApiFault(400, "validation.InvalidParameter", str(exc)) from None
        fields = _response_fields(resource, params.get("responseFields"))
        page = take_page(self.store.list_visible(org_id, resource), paging, keep)
        return JSONResponse({"data": [_project(record, fields) for record in page]})

    async def get_record(self, request: Request) -> Response:
        resource = _resource(request)
        org_id = self._organization(request)
        record = self._existing(org_id, resource, path_param(request, "record_id"))
        fields = _response_fields(resource, request.query_params.get("responseFields"))
        return JSONResponse({"data": _project(record, fields)})

    async def create_record(self, request: Request) -> Response:
        resource = _resource(request)
        org_id = self._organization(request)
        validate = _writer(resource)
        fields = self._validated(validate, await _body(request), None, org_id)
        record = self.store.create(org_id, resource, fields, lag_s=read_lag_s(request.scope))
        location = f"{API_BASE}/{resource}/{record['id']}"
        return JSONResponse({"data": record}, status_code=201, headers={"Location": location})

    async def update_record(self, request: Request) -> Response:
        resource = _resource(request)
        org_id = self._organization(request)
        validate = _writer(resource)
        record_id = path_param(request, "record_id")
        current = self._existing(org_id, resource, record_id)
        body = await _body(request)
        if isinstance(body, dict) and body.get("id") is not None and str(body["id"]) != current["id"]:
            raise ApiFault(400, "validation.InvalidField", "id does not match the path")
        fields = self._validated(validate, body, current, org_id)
        record = self.store.replace(org_id, resource, current["id"], fields, lag_s=read_lag_s(request.scope))
        return JSONResponse({"data": record})

    def _existing(self, org_id: str, resource: str, record_id: str) -> dict[str, Any]:
        record = self.store.get(org_id, resource, record_id)
        if record is None:
            raise ApiFault(404, "resource.NotFound", f"{RESOURCE_TYPES[resource]} not found")
        return record

    def _validated(
        self, validate: Callable[..., dict[str, Any]], body: Any, current: Any, org_id: str
    ) -> dict[str, Any]:
        def lookup(resource: str, record_id: str) -> dict[str, Any] | None:
            return self.store.get(org_id, resource, record_id)

        try:
            return validate(body, current, lookup)
        except FieldError as exc:
            raise ApiFault(400, exc.errorcode, f"Invalid request: {exc}") from None

    # ---- admin -------------------------------------------------------------------------------------------

    async def admin_summary(self, request: Request) -> Response:
        return JSONResponse(self.summary())

    async def admin_revoke(self, request: Request) -> Response:
        return JSONResponse({"revoked": self.revoke_tokens()})

    async def admin_count(self, request: Request) -> Response:
        reference = request.query_params.get("reference")
        if not reference:
            return admin_error("reference is required")
        found = self.store.with_reference(reference)
        records = [{"organizationId": org, "resource": res, "id": rid} for org, res, rid in found]
        return JSONResponse({"reference": reference, "count": len(found), "records": records})

    async def admin_record(self, request: Request) -> Response:
        found = self.store.find_anywhere(path_param(request, "resource"), path_param(request, "record_id"))
        if found is None:
            return admin_error("no such record", 404)
        return JSONResponse({"organizationId": found[0], "data": found[1]})

    async def admin_reset(self, request: Request) -> Response:
        try:
            body = await json_body(request)
            seed = int(body.get("seed", self.seed_data.seed))
            anchor = date.fromisoformat(body["anchor"]) if body.get("anchor") else self.seed_data.anchor
        except (ValueError, TypeError, AttributeError):
            return admin_error('body must be {"seed": <int>, "anchor": "YYYY-MM-DD"} (both optional)')
        self._load(seed, anchor)
        return JSONResponse(self.summary())


def _resource(request: Request) -> str:
    resource = path_param(request, "resource")
    if resource not in RESOURCE_TYPES:
        raise _not_found()
    return resource


def _writer(resource: str) -> Callable[..., dict[str, Any]]:
    if resource not in _WRITABLE:
        raise ApiFault(405, "protocol.http.MethodNotAllowed", "Method not allowed on this resource")
    return _WRITABLE[resource]


def _not_found() -> ApiFault:
    return ApiFault(
        404, "messaging.adaptors.http.flow.ApplicationNotFound", "Unable to identify proxy for url"
    )


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise ApiFault(400, "validation.MalformedBody", "Invalid request: body is not valid JSON") from None


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


def _response_fields(resource: str, text: str | None) -> frozenset[str] | None:
    if text is None or text.strip().upper() in ("", "ALL"):
        return None
    wanted = frozenset(f.strip() for f in text.split(",") if f.strip())
    unknown = sorted(wanted - RESPONSE_FIELDS[resource])
    if unknown:
        raise ApiFault(400, "validation.InvalidParameter", f"responseFields: unknown field {unknown[0]}")
    return wanted | {"id", "type"}


def _project(record: Mapping[str, Any], fields: frozenset[str] | None) -> dict[str, Any]:
    return dict(record) if fields is None else {k: v for k, v in record.items() if k in fields}


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return fault_response(405, "protocol.http.MethodNotAllowed", "Method not allowed")
    if exc.status_code == 404:
        fault = _not_found()
        return fault_response(404, fault.errorcode, fault.faultstring)
    return fault_response(exc.status_code, "messaging.adaptors.http.flow.ServerError", "Request failed")
