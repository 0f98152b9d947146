"""The Open Dental sandbox app: keys and throttle, the resources, the admin API, the fault middleware and the
60-second gateway. The dialect is documented in the package docstring (:mod:`adapters.opendental.sandbox`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.opendental.sandbox.admin import OpenDentalAdmin
from adapters.opendental.sandbox.config import SandboxConfig
from adapters.opendental.sandbox.errors import (
    OdError,
    explanation,
    handle_od_error,
    render_decision,
    too_many_requests,
)
from adapters.opendental.sandbox.filters import (
    FilterError,
    appointment_filter,
    operatory_filter,
    patient_filter,
    preference_filter,
    reject_unknown,
    simple_patient_filter,
)
from adapters.opendental.sandbox.gateway import GatewayTimeout, TimedOutLog
from adapters.opendental.sandbox.keys import CREDENTIAL_CHECK_PATH, KeyRing, Throttle, parse_authorization
from adapters.opendental.sandbox.paging import PagingError, page_of, page_request
from adapters.opendental.sandbox.seed import CONFIRMATIONS, OfficeData, SeedData, build_seed
from adapters.opendental.sandbox.store import Database
from adapters.opendental.sandbox.validation import (
    FieldError,
    validate_appointment,
    validate_break,
    validate_confirm,
    validate_patient,
)
from adapters.opendental.sandbox.wire import format_datetime
from adapters.sandbox.faults import FaultEngine
from adapters.sandbox.middleware import FaultMiddleware, read_lag_s
from adapters.sandbox.routing import RawPathRouting, path_param
from adapters.sandbox.runner import ListenerControl, RunningServer, run_in_thread

__all__ = ["API_BASE", "OpenDentalSandbox"]

API_BASE = "/api/v1"
_ENTITIES = {"patients": "Patient", "appointments": "Appointment"}
# confirmVal -> the preference that names its definition ("None" is the first definition of the category).
_CONFIRM_PREFERENCES = {
    "Sent": "ApptEConfirmStatusSent",
    "Confirmed": "ApptEConfirmStatusAccepted",
    "Not Accepted": "ApptEConfirmStatusDeclined",
    "Failed": "ApptEConfirmStatusSendFailed",
}
_BREAKABLE = frozenset({"Scheduled", "ASAP"})
Filter = Callable[[Mapping[str, str]], Callable[[Mapping[str, Any]], bool]]


def _no_filter(params: Mapping[str, str]) -> Callable[[Mapping[str, Any]], bool]:
    reject_unknown(params, frozenset())
    return lambda record: True


class OpenDentalSandbox:
    """One sandbox: its offices' databases, keys, throttle, fault engine, request log, and the ASGI ``app``."""

    def __init__(self, config: SandboxConfig | None = None, *, clock: Callable[[], float] = time.monotonic):
        self.config = config or SandboxConfig()
        self._clock = clock
        self.request_log = TimedOutLog()
        fault_seed = self.config.seed if self.config.fault_seed is None else self.config.fault_seed
        self.engine = FaultEngine(self.config.faults, seed=fault_seed, clock=clock)
        self.admin = OpenDentalAdmin(self)
        self.load(self.config.seed, self.config.anchor)
        faulted = FaultMiddleware(
            self._starlette(),
            engine=self.engine,
            request_log=self.request_log,
            render_error=render_decision,
            api_prefix=API_BASE,
            on_expire_tokens=self.revoke_credentials,
        )
        self.app = RawPathRouting(GatewayTimeout(faulted, seconds=self.config.gateway_timeout_s))

    # ---- lifecycle ---------------------------------------------------------------------------------------

    def load(self, seed: int, anchor: date) -> None:
        """(Re)build every office's database, the keys and the throttle from a seed."""
        self.seed_data: SeedData = build_seed(seed, anchor, version=self.config.version)
        self.databases = {
            office.number: Database(office, now_local=self._now_local(office), clock=self._clock)
            for office in self.seed_data.offices
        }
        self.keys = KeyRing(
            self.config.developer_key,
            {office.customer_key: office.number for office in self.seed_data.offices},
            self.config.credential_ttl_s,
            on_check=self._log_check,
            clock=self._clock,
        )
        self.throttle = Throttle(self.config.rate_per_second, clock=self._clock)

    def reset_faults(self) -> None:
        self.engine.replace(self.config.faults)

    def revoke_credentials(self) -> int:
        return self.keys.revoke_all()

    def attach_listener(self, listener: ListenerControl) -> None:
        self.admin.fault_admin.attach_listener(listener)

    def run_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
        return run_in_thread(self.app, host, port, on_listener=self.attach_listener)

    def banner(self, base_url: str) -> list[str]:
        """What the CLI prints at start-up: where to connect and with what (sandbox keys only)."""
        config = self.config
        rate = f"{config.rate_per_second:g}/s per key" if config.rate_per_second else "unthrottled"
        lines = [
            f"Open Dental sandbox {config.version} on {base_url}{API_BASE} (seed {self.seed_data.seed}, "
            f"anchor {self.seed_data.anchor}, {rate})",
        ]
        for office in self.seed_data.offices:
            clinics = (
                ", ".join(f"{n}={z}" for n, z in office.clinic_zones.items()) or f"no clinics, {office.zone}"
            )
            lines.append(
                f"  {office.name}: Authorization: ODFHIR {config.developer_key}/{office.customer_key} ({clinics})"
            )
        lines.append(f"  admin: {base_url}/_admin/summary; faults: {len(config.faults)}")
        return lines

    def _now_local(self, office: OfficeData) -> Callable[[], str]:
        zone = ZoneInfo(office.zone)
        return lambda: format_datetime(datetime.now(zone).replace(tzinfo=None, microsecond=0))

    def _log_check(self, status: int) -> None:
        self.request_log.record("POST", CREDENTIAL_CHECK_PATH, status, (), self.request_log.now())

    def _starlette(self) -> Starlette:
        b = API_BASE
        reads: dict[str, Filter] = {
            "clinics": _no_filter,
            "operatories": operatory_filter,
            "providers": _no_filter,
            "appointmenttypes": _no_filter,
        }
        routes = [
            *(
                Route(f"{b}/{resource}", self._lister(resource, make), methods=["GET"])
                for resource, make in reads.items()
            ),
            Route(b + "/preferences", self.list_preferences, methods=["GET"]),
            Route(b + "/patients/Simple", self.list_simple_patients, methods=["GET"]),
            Route(b + "/appointments/{record_id}/Confirm", self.confirm, methods=["PUT"]),
            Route(b + "/appointments/{record_id}/Break", self.break_appointment, methods=["PUT"]),
            Route(b + "/{resource:str}", self.list_records, methods=["GET"]),
            Route(b + "/{resource:str}", self.create_record, methods=["POST"]),
            Route(b + "/{resource:str}/{record_id}", self.get_record, methods=["GET"]),
            Route(b + "/{resource:str}/{record_id}", self.update_record, methods=["PUT"]),
            *self.admin.routes(),
        ]
        handlers: Mapping[Any, Any] = {OdError: handle_od_error, HTTPException: _http_exception}
        return Starlette(routes=routes, exception_handlers=handlers)

    # ---- keys and throttle -------------------------------------------------------------------------------

    def _database(self, request: Request) -> Database:
        """The caller's office, after the key pair and the throttle let the request through."""
        pair = parse_authorization(request.headers.get("authorization", ""))
        if pair is None:
            raise OdError(
                401, "Authorization header is missing or invalid. Use: ODFHIR {DeveloperKey}/{CustomerKey}"
            )
        office = self.keys.office(*pair)
        if office is None:
            raise OdError(401, "Invalid DeveloperKey or CustomerKey, or the key is disabled by the office.")
        wait = self.throttle.admit(pair[1])
        if wait is not None:
            raise too_many_requests(wait)
        return self.databases[office]

    # ---- reads -------------------------------------------------------------------------------------------

    def _page(self, request: Request, records: list[dict[str, Any]], make: Filter) -> Response:
        params = dict(request.query_params)
        try:
            page = page_request(params.pop("Limit", None), params.pop("Offset", None))
            keep = make(params)
        except (PagingError, FilterError) as exc:
            raise OdError(400, str(exc)) from None
        return JSONResponse(page_of([r for r in records if keep(r)], page))

    def _lister(self, resource: str, make: Filter) -> Callable[[Request], Any]:
        async def handler(request: Request) -> Response:
            return self._page(request, self._database(request).list_visible(resource), make)

        return handler

    async def list_preferences(self, request: Request) -> Response:
        db = self._database(request)
        return self._page(request, [dict(p) for p in db.office.records["preferences"]], preference_filter)

    async def list_simple_patients(self, request: Request) -> Response:
        return self._page(request, self._database(request).list_visible("patients"), simple_patient_filter)

    async def list_records(self, request: Request) -> Response:
        resource = _resource(request)
        db = self._database(request)
        if resource == "patients":
            return self._page(request, db.list_visible("patients"), patient_filter)
        rows = [self._appointment_out(db, row) for row in db.list_visible("appointments")]
        return self._page(request, rows, appointment_filter)

    async def get_record(self, request: Request) -> Response:
        resource = _resource(request)
        db = self._database(request)
        row = self._existing(db, resource, path_param(request, "record_id"))
        return JSONResponse(self._out(db, resource, row))

    def _existing(self, db: Database, resource: str, record_id: str) -> dict[str, Any]:
        row = db.get(resource, int(record_id)) if record_id.isdigit() else None
        if row is None:
            raise OdError(404, f"{_ENTITIES[resource]} not found.")
        return row

    def _out(self, db: Database, resource: str, row: dict[str, Any]) -> dict[str, Any]:
        return self._appointment_out(db, row) if resource == "appointments" else row

    def _appointment_out(self, db: Database, row: dict[str, Any]) -> dict[str, Any]:
        """An appointment as the API shows it: with the names of its confirmation and provider."""
        names = {num: name for num, name, _ in CONFIRMATIONS}
        provider = db.get("providers", row["ProvNum"]) if row["ProvNum"] else None
        return {
            "serverDateTime": db.now_local(),
            **row,
            "confirmed": names.get(row["Confirmed"], ""),
            "provAbbr": provider["Abbr"] if provider else "",
        }

    # ---- writes ------------------------------------------------------------------------------------------

    async def create_record(self, request: Request) -> Response:
        resource = _resource(request)
        db = self._database(request)
        body = await _body(request)
        refs = db.references()
        if resource == "patients":
            fields = _validated(lambda: validate_patient(body, None, refs))
            fields["SecDateEntry"] = db.now_local()[:10]
        else:
            fields = self._new_appointment(db, _validated(lambda: validate_appointment(body, None, refs)))
        row = db.insert(resource, fields, read_lag_s=read_lag_s(request.scope))
        record_id = row["PatNum"] if resource == "patients" else row["AptNum"]
        location = f"{request.url.scheme}://{request.url.netloc}{API_BASE}/{resource}/{record_id}"
        return JSONResponse(self._out(db, resource, row), status_code=201, headers={"Location": location})

    def _new_appointment(self, db: Database, fields: dict[str, Any]) -> dict[str, Any]:
        operatory = db.get("operatories", fields["Op"])
        assert operatory is not None  # validated
        if fields["ClinicNum"] is None:
            fields["ClinicNum"] = operatory["ClinicNum"]
        elif fields["ClinicNum"] != operatory["ClinicNum"]:
            raise OdError(400, "ClinicNum does not match the clinic of the operatory.")
        if fields["Confirmed"] is None:
            fields["Confirmed"] = CONFIRMATIONS[0][0]
        kind = (
            db.get("appointmenttypes", fields["AppointmentTypeNum"]) if fields["AppointmentTypeNum"] else None
        )
        now = db.now_local()
        return {
            **fields,
            "NextAptNum": 0,
            "UnschedStatus": 0,
            "ProcDescript": kind["AppointmentTypeName"] if kind else "",
            "colorOverride": "0,0,0",
            "SecDateTEntry": now,
            "PatternSecondary": "",
        }

    async def update_record(self, request: Request) -> Response:
        resource = _resource(request)
        db = self._database(request)
        current = self._existing(db, resource, path_param(request, "record_id"))
        body = await _body(request)
        refs = db.references()
        validate = validate_patient if resource == "patients" else validate_appointment
        changes = _validated(lambda: validate(body, current, refs))
        if resource == "appointments" and "Op" in changes and "ClinicNum" not in changes:
            operatory = db.get("operatories", changes["Op"])
            changes["ClinicNum"] = operatory["ClinicNum"] if operatory else 0
        record_id = current["PatNum"] if resource == "patients" else current["AptNum"]
        row = db.update(resource, record_id, changes, read_lag_s=read_lag_s(request.scope))
        return JSONResponse(self._out(db, resource, row))

    async def confirm(self, request: Request) -> Response:
        db = self._database(request)
        current = self._existing(db, "appointments", path_param(request, "record_id"))
        body = await _body(request)
        value, def_num = _validated(lambda: validate_confirm(body, db.references()))
        if value is not None:
            pref = _CONFIRM_PREFERENCES.get(value)
            def_num = int(db.preferences[pref]) if pref else CONFIRMATIONS[0][0]
        row = db.update(
            "appointments", current["AptNum"], {"Confirmed": def_num}, read_lag_s=read_lag_s(request.scope)
        )
        return JSONResponse(self._appointment_out(db, row))

    async def break_appointment(self, request: Request) -> Response:
        db = self._database(request)
        current = self._existing(db, "appointments", path_param(request, "record_id"))
        body = await _body(request)
        _validated(lambda: validate_break(body, db.references()))
        if current["AptStatus"] == "Broken":
            raise OdError(400, "The appointment is already broken.")
        if current["AptStatus"] not in _BREAKABLE:
            raise OdError(400, "Only a scheduled appointment can be broken.")
        row = db.update(
            "appointments", current["AptNum"], {"AptStatus": "Broken"}, read_lag_s=read_lag_s(request.scope)
        )
        return JSONResponse(self._appointment_out(db, row))


def _resource(request: Request) -> str:
    resource = path_param(request, "resource")
    if resource not in _ENTITIES:
        raise OdError(404, "The requested resource does not exist.")
    return resource


def _validated(check: Callable[[], Any]) -> Any:
    try:
        return check()
    except FieldError as exc:
        raise OdError(400, str(exc)) from None


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise OdError(400, "The body is not valid JSON.") from None


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return explanation(405, "The method is not allowed for this resource.")
    if exc.status_code == 404:
        return explanation(404, "The requested resource does not exist.")
    return explanation(exc.status_code, "The request failed.")
