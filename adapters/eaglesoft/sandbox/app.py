"""The Eaglesoft sandbox app: session, the resources, asynchronous writes, the admin API, the fault
middleware. The dialect is documented in the package docstring (:mod:`adapters.eaglesoft.sandbox`).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.eaglesoft.sandbox.admin import EaglesoftAdmin
from adapters.eaglesoft.sandbox.config import SandboxConfig
from adapters.eaglesoft.sandbox.errors import EsError, error_response, handle_es_error, render_decision
from adapters.eaglesoft.sandbox.filters import FilterError, appointment_filter, patient_filter, reject_unknown
from adapters.eaglesoft.sandbox.paging import PagingError, page_of, page_request
from adapters.eaglesoft.sandbox.seed import SeedData, build_seed
from adapters.eaglesoft.sandbox.sessions import SessionStore
from adapters.eaglesoft.sandbox.store import Store
from adapters.eaglesoft.sandbox.validation import FieldError, validate_appointment, validate_patient
from adapters.eaglesoft.sandbox.wire import format_time
from adapters.eaglesoft.sandbox.writes import Operation, WriteFaultEngine, WriteQueue
from adapters.sandbox.faults import FaultEngine
from adapters.sandbox.middleware import FaultMiddleware, read_lag_s
from adapters.sandbox.request_log import RequestLog
from adapters.sandbox.routing import RawPathRouting, path_param
from adapters.sandbox.runner import ListenerControl, RunningServer, run_in_thread

__all__ = ["API_BASE", "EaglesoftSandbox"]

API_BASE = "/api/v1"
_ENTITIES = {"patients": ("Patient", validate_patient), "appointments": ("Appointment", validate_appointment)}
_SESSION_EXPIRED = EsError(401, "SessionExpired", "The session is missing, invalid or expired; log in again")
_NO_FILTERS: frozenset[str] = frozenset()


class EaglesoftSandbox:
    """One sandbox: its database, sessions, write queue, fault engines, request log, and the ASGI ``app``."""

    def __init__(self, config: SandboxConfig | None = None, *, clock: Callable[[], float] = time.monotonic):
        self.config = config or SandboxConfig()
        self._clock = clock
        self._zone = ZoneInfo(self.config.server_zone)
        self.request_log = RequestLog()
        fault_seed = self.config.seed if self.config.fault_seed is None else self.config.fault_seed
        self.engine = FaultEngine(self.config.faults, seed=fault_seed, clock=clock)
        self.write_faults = WriteFaultEngine(seed=fault_seed, clock=clock)
        self.write_faults.replace(self.config.write_faults)
        self.admin = EaglesoftAdmin(self)
        self.load(self.config.seed)
        faulted = FaultMiddleware(
            self._starlette(),
            engine=self.engine,
            request_log=self.request_log,
            render_error=render_decision,
            api_prefix=API_BASE,
            on_expire_tokens=self.revoke_sessions,
        )
        self.app = RawPathRouting(faulted)

    # ---- lifecycle ---------------------------------------------------------------------------------------

    def load(self, seed: int) -> None:
        """(Re)build the database, sessions and write queue from a seed."""
        config = self.config
        self.seed_data: SeedData = build_seed(seed, config.anchor)
        self.store = Store(self.seed_data, now_local=self.now_local, clock=self._clock)
        self.sessions = SessionStore(
            config.integration_key, config.user_id, config.password, config.session_ttl_s, clock=self._clock
        )
        # Its own rng, so the data set does not depend on how many writes were delayed.
        self.writes = WriteQueue(random.Random(seed + 1), config.write_delay_ms, clock=self._clock)

    def reset_faults(self) -> None:
        self.engine.replace(self.config.faults)
        self.write_faults.replace(self.config.write_faults)

    def now_local(self) -> str:
        return format_time(datetime.now(self._zone).replace(tzinfo=None, microsecond=0))

    def revoke_sessions(self) -> int:
        return self.sessions.revoke_all()

    def settle(self) -> None:
        self.writes.settle(self.store.apply)

    def attach_listener(self, listener: ListenerControl) -> None:
        self.admin.fault_admin.attach_listener(listener)

    def run_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
        return run_in_thread(self.app, host, port, on_listener=self.attach_listener)

    def banner(self, base_url: str) -> list[str]:
        """What the CLI prints at start-up: where to connect and with what (sandbox credentials only)."""
        config = self.config
        practices = ", ".join(f"{pid}={zone}" for pid, zone in self.seed_data.zones.items())
        return [
            f"Eaglesoft sandbox {config.version} on {base_url}{API_BASE} (seed {self.seed_data.seed})",
            f"  POST /session with IntegrationKey={config.integration_key} UserId={config.user_id} "
            f"Password={config.password}",
            f"  practices (X-Practice-Id=zone): {practices}",
            f"  admin: {base_url}/_admin/summary; faults: {len(config.faults) + len(config.write_faults)}",
        ]

    def _starlette(self) -> Starlette:
        b = API_BASE
        routes = [
            Route(b + "/session", self.open_session, methods=["POST"]),
            Route(b + "/system", self.system, methods=["GET"]),
            Route(b + "/practices", self.list_practices, methods=["GET"]),
            Route(b + "/practices/{practice_id}", self.get_practice, methods=["GET"]),
            Route(b + "/practices/{practice_id}/chairs", self.list_chairs, methods=["GET"]),
            Route(b + "/providers", self.list_providers, methods=["GET"]),
            Route(b + "/providers/{record_id}", self.get_provider, methods=["GET"]),
            Route(b + "/writes/{write_id}", self.get_write, methods=["GET"]),
            Route(b + "/{resource:str}", self.list_records, methods=["GET"]),
            Route(b + "/{resource:str}", self.create_record, methods=["POST"]),
            Route(b + "/{resource:str}/{record_id}", self.get_record, methods=["GET"]),
            Route(b + "/{resource:str}/{record_id}", self.update_record, methods=["PUT"]),
            Route(b + "/{resource:str}/{record_id}", self.delete_record, methods=["DELETE"]),
            *self.admin.routes(),
        ]
        handlers: Mapping[Any, Any] = {EsError: handle_es_error, HTTPException: _http_exception}
        return Starlette(routes=routes, exception_handlers=handlers)

    # ---- session and system ------------------------------------------------------------------------------

    async def open_session(self, request: Request) -> Response:
        body = await _body(request)
        fields = ("IntegrationKey", "UserId", "Password")
        if not isinstance(body, dict) or not all(isinstance(body.get(f), str) for f in fields):
            raise EsError(400, "ValidationFailed", "IntegrationKey, UserId and Password are required strings")
        token = self.sessions.open(*(body[f] for f in fields))
        if token is None:
            raise EsError(401, "InvalidCredentials", "The integration key, user id or password is wrong")
        # Computed in UTC: adding to an aware local time would add wall-clock time across a DST change.
        expires = datetime.now(UTC) + timedelta(seconds=self.sessions.ttl_s)
        local = expires.astimezone(self._zone).replace(tzinfo=None, microsecond=0)
        return JSONResponse({"SessionToken": token, "ExpiresAt": format_time(local)})

    async def system(self, request: Request) -> Response:
        return JSONResponse(
            {
                "ProductName": "Eaglesoft",
                "Version": self.config.version,
                "DatabaseName": "PattersonPM",
                "ServerTime": self.now_local(),
            }
        )

    def _practice(self, request: Request) -> int:
        """The caller's practice, after the session and the X-Practice-Id header were checked."""
        if not self.sessions.is_live(request.headers.get("x-session-token", "")):
            raise _SESSION_EXPIRED
        text = request.headers.get("x-practice-id", "").strip()
        if not text.isdigit():
            raise EsError(400, "InvalidPracticeId", "X-Practice-Id is required and must be an integer")
        if int(text) not in self.store.practice_ids():
            raise EsError(403, "PracticeNotFound", "X-Practice-Id names no practice of this database")
        self.settle()
        return int(text)

    # ---- reads -------------------------------------------------------------------------------------------

    def _page(self, request: Request, records: list[dict[str, Any]], allowed: frozenset[str]) -> Response:
        params = request.query_params
        try:
            reject_unknown(params, allowed)
            page = page_request(params.get("PageNumber"), params.get("PageSize"))
        except (FilterError, PagingError) as exc:
            raise EsError(400, "InvalidParameter", str(exc)) from None
        return JSONResponse(page_of(records, page))

    async def list_practices(self, request: Request) -> Response:
        self._practice(request)
        return self._page(request, self.store.list_visible(None, "practices"), _NO_FILTERS)

    async def get_practice(self, request: Request) -> Response:
        self._practice(request)
        found = self.store.find_anywhere("practices", _int_id(path_param(request, "practice_id")))
        if found is None or found[1] is None:
            raise _not_found("Practice")
        return JSONResponse(found[1])

    async def list_chairs(self, request: Request) -> Response:
        practice_id = self._practice(request)
        if _int_id(path_param(request, "practice_id")) != practice_id:
            raise _not_found("Practice")
        return self._page(request, self.store.list_visible(practice_id, "chairs"), _NO_FILTERS)

    async def list_providers(self, request: Request) -> Response:
        practice_id = self._practice(request)
        return self._page(request, self.store.list_visible(practice_id, "providers"), _NO_FILTERS)

    async def get_provider(self, request: Request) -> Response:
        practice_id = self._practice(request)
        record = self.store.get(practice_id, "providers", path_param(request, "record_id"))
        if record is None:
            raise _not_found("Provider")
        return JSONResponse(record)

    async def list_records(self, request: Request) -> Response:
        resource = _resource(request)
        practice_id = self._practice(request)
        make_filter = patient_filter if resource == "patients" else appointment_filter
        params = {k: v for k, v in request.query_params.items() if k not in ("PageNumber", "PageSize")}
        try:
            keep = make_filter(params)
        except FilterError as exc:
            raise EsError(400, "InvalidParameter", str(exc)) from None
        records = [r for r in self.store.list_visible(practice_id, resource) if keep(r)]
        return self._page(request, records, frozenset(params))

    async def get_record(self, request: Request) -> Response:
        resource = _resource(request)
        practice_id = self._practice(request)
        return JSONResponse(self._existing(practice_id, resource, path_param(request, "record_id")))

    async def get_write(self, request: Request) -> Response:
        practice_id = self._practice(request)
        write = self.writes.get(path_param(request, "write_id"))
        if write is None or write.practice_id != practice_id:
            raise _not_found("Write")
        return JSONResponse(write.as_json())

    def _existing(self, practice_id: int, resource: str, record_id: str) -> dict[str, Any]:
        record = self.store.get(practice_id, resource, _int_id(record_id))
        if record is None:
            raise _not_found(_ENTITIES[resource][0])
        return record

    # ---- asynchronous writes -----------------------------------------------------------------------------

    async def create_record(self, request: Request) -> Response:
        resource = _resource(request)
        practice_id = self._writer(request)
        entity, validate = _ENTITIES[resource]
        payload = _validated(validate, await _body(request), None, practice_id)
        return self._accept(request, practice_id, entity, Operation.CREATE, None, payload)

    async def update_record(self, request: Request) -> Response:
        resource = _resource(request)
        practice_id = self._writer(request)
        entity, validate = _ENTITIES[resource]
        current = self._unlocked(practice_id, resource, path_param(request, "record_id"))
        payload = _validated(validate, await _body(request), current, practice_id)
        record_id = int(current[f"{entity}Id"])
        return self._accept(request, practice_id, entity, Operation.UPDATE, record_id, payload)

    async def delete_record(self, request: Request) -> Response:
        resource = _resource(request)
        practice_id = self._writer(request)
        if resource != "appointments":
            raise EsError(405, "MethodNotAllowed", "Patients cannot be deleted; set Status to I")
        current = self._unlocked(practice_id, resource, path_param(request, "record_id"))
        record_id = int(current["AppointmentId"])
        return self._accept(request, practice_id, "Appointment", Operation.DELETE, record_id, {})

    def _writer(self, request: Request) -> int:
        practice_id = self._practice(request)
        if self.config.major_version < 18:
            raise EsError(403, "VersionUnsupported", "Writes need Eaglesoft 18 or newer")
        return practice_id

    def _unlocked(self, practice_id: int, resource: str, record_id: str) -> dict[str, Any]:
        current = self._existing(practice_id, resource, record_id)
        entity = _ENTITIES[resource][0]
        if self.writes.pending_for(entity, int(current[f"{entity}Id"])):
            raise EsError(409, "RecordLocked", "The record has a pending write; try again later")
        return current

    def _accept(
        self,
        request: Request,
        practice_id: int,
        entity: str,
        operation: Operation,
        entity_id: int | None,
        payload: dict[str, Any],
    ) -> Response:
        fate = self.write_faults.decide(request.method, request.url.path.removeprefix(API_BASE))
        write = self.writes.accept(
            practice_id,
            entity,
            operation,
            entity_id,
            payload,
            fate=fate,
            read_lag_s=read_lag_s(request.scope),
        )
        location = f"{API_BASE}/writes/{write.write_id}"
        body = {"WriteId": write.write_id, "Status": write.status.value}
        return JSONResponse(body, status_code=202, headers={"Location": location})


def _resource(request: Request) -> str:
    resource = path_param(request, "resource")
    if resource not in _ENTITIES:
        raise EsError(404, "NotFound", "No such resource")
    return resource


def _int_id(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _not_found(what: str) -> EsError:
    return EsError(404, "NotFound", f"{what} not found")


def _validated(
    validate: Callable[..., dict[str, Any]], body: Any, current: Any, practice_id: int
) -> dict[str, Any]:
    try:
        return validate(body, current, practice_id)
    except FieldError as exc:
        raise EsError(400, exc.error_code, str(exc)) from None


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise EsError(400, "ValidationFailed", "The body is not valid JSON") from None


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_response(405, "MethodNotAllowed", "Method not allowed")
    if exc.status_code == 404:
        return error_response(404, "NotFound", "No such resource")
    return error_response(exc.status_code, "ServerError", "The request failed")
