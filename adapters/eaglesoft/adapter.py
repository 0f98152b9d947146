"""The Eaglesoft adapter: the nine operations of :class:`adapters.contract.PMSInterface` over Patterson's
on-prem API.

Transport, retries, rate limits, sessions and deadlines belong to :class:`adapters.http.PMSHttpClient`; this
module only knows Eaglesoft's resources, its offset paging and what the PMS does not do for us:

- **Asynchronous writes.** Every write is accepted with a ``WriteId`` and decided later; :mod:`.writes` polls
  it within the caller's deadline (or ``write_timeout_seconds`` when the caller set none). Completed writes
  are read back by id (``GET /{id}`` sees a write at once; lists may lag). A write still pending at the
  deadline, or whose read-back fails, raises with ``outcome_unknown=True``: reconcile with
  :meth:`EaglesoftAdapter.find_by_reference`, never write again blindly.
- **Double booking.** Eaglesoft accepts overlapping bookings in one chair, so a create (or a move) first reads
  the chair's schedule for the slot and raises :class:`~adapters.errors.Conflict` on an overlapping
  appointment or schedule block. Check and write are not atomic; the relay serializes one practice's
  commands, which keeps the window to edits made in the office at the same moment.
- **Version.** Writes need Eaglesoft 18 or newer: checked (``GET /system``, cached like static data) before
  anything is sent, so an old server answers :class:`~adapters.errors.Unsupported` without a write attempt.
- **Cancellation.** Eaglesoft deletes a cancelled appointment: an update to CANCELLED or BROKEN sends
  ``DELETE`` and returns the appointment as it was, with the requested status. A deleted appointment keeps
  no reference, so ``find_by_reference`` cannot find a cancellation.
- **Times.** Office-local naive times are converted with the configured zone (:mod:`.times`). A listed
  appointment whose time does not exist in that zone (a spring-forward gap) is left out of the list and
  logged with its id; read by id, it is a data error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx

from adapters import deadline
from adapters.domain import (
    Appointment,
    AppointmentCreateData,
    AppointmentUpdateData,
    ConnectionStatus,
    DateRange,
    Location,
    Operatory,
    Patient,
    PatientCreateData,
    PatientSearchQuery,
    PatientUpdateData,
)
from adapters.eaglesoft import mapping
from adapters.eaglesoft.config import EaglesoftConfig
from adapters.eaglesoft.errors import EAGLESOFT_ERRORS
from adapters.eaglesoft.session import SessionLogin, session_auth
from adapters.eaglesoft.times import NonexistentLocalTime
from adapters.eaglesoft.writes import PollPolicy, WriteStatus, await_write, parse_accepted, parse_write_status
from adapters.errors import Conflict, NotFound, PMSError, Unsupported, ValidationFailed
from adapters.http import RetryPolicy, TokenCache
from adapters.http.adapter import OPERATORIES, HttpAdapter
from adapters.http.dialect import HttpDialect
from adapters.http.paging import OffsetPaging

__all__ = ["API_PREFIX", "EAGLESOFT", "PRACTICE_HEADER", "EaglesoftAdapter", "major_version"]

_log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
PRACTICE_HEADER = "X-Practice-Id"

EAGLESOFT = HttpDialect(
    label="Eaglesoft",
    path_prefix=API_PREFIX,
    errors=EAGLESOFT_ERRORS,
    paging=OffsetPaging(
        number_param="PageNumber", size_param="PageSize", items_key="Items", total_key="TotalCount"
    ),
    auth_header=session_auth,
    id_keys=("AppointmentId", "PatientId", "ChairNum", "PracticeId"),
)
"""Eaglesoft over HTTP: a session token, offset paging, ``{"ErrorCode"}`` bodies."""

T = TypeVar("T")
Json = dict[str, Any]


def major_version(version: str | None) -> int | None:
    """The major number of an Eaglesoft version string (``"21.20.05"`` -> 21), None when unreadable."""
    head = (version or "").split(".", 1)[0].strip()
    return int(head) if head.isdigit() else None


class EaglesoftAdapter(HttpAdapter):
    """One practice's Eaglesoft. ``transport`` and ``sleep`` are the seams for tests."""

    kind = "EAGLESOFT"
    dialect = EAGLESOFT

    def __init__(
        self,
        config: EaglesoftConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._config = config
        self._practice = config.practice_id
        self._zone = ZoneInfo(config.time_zone)
        server_zone = ZoneInfo(config.server_time_zone or config.time_zone)
        login = SessionLogin(config.integration_key, config.user_id, config.password, zone=server_zone)
        super().__init__(
            config,
            tokens=TokenCache(login, refresh_ahead=config.session_refresh_margin_seconds),
            headers={PRACTICE_HEADER: config.practice_id},
            transport=transport,
            retry=retry,
            sleep=sleep,
        )
        self._poll = PollPolicy(config.write_poll_initial_seconds, config.write_poll_max_seconds)
        self._sleep = sleep

    # ---- static data -----------------------------------------------------------------------------------

    async def _load_locations(self) -> tuple[Location, ...]:
        rows = await self._list_all("/practices")
        return tuple(
            self._decode(
                lambda r: mapping.location_from_eaglesoft(
                    r, time_zone=self._config.zone_of(str(r["PracticeId"]))
                ),
                row,
                "practice",
            )
            for row in rows
        )

    async def _load_operatories(self) -> tuple[Operatory, ...]:
        # Chairs are only readable for the practice of X-Practice-Id.
        rows = await self._list_all("/practices/{id}/chairs", path_params={"id": self._practice})
        chairs = (self._decode(mapping.operatory_from_eaglesoft, row, "chair") for row in rows)
        return tuple(chair for chair in chairs if chair is not None)

    async def _require_chair(self, operatory_id: str) -> None:
        """A visible chair of this practice; a miss reloads the cache once, for a chair added since."""
        if not await self._is_chair(operatory_id):
            self._static.invalidate(OPERATORIES)
            if not await self._is_chair(operatory_id):
                raise ValidationFailed(
                    f"operatory {operatory_id} is not a visible chair of location {self._practice}"
                )

    async def _is_chair(self, operatory_id: str) -> bool:
        return any(op.id == operatory_id for op in await self.list_operatories())

    # ---- patients --------------------------------------------------------------------------------------

    async def search_patients(self, query: PatientSearchQuery) -> list[Patient]:
        found: list[Patient] = []
        params = mapping.patient_search_params(query)
        async for row in self._rows("/patients", params):
            found.append(self._decode(mapping.patient_from_eaglesoft, row, "patient"))
            if len(found) >= query.limit:
                break
        return found

    async def create_patient(self, data: PatientCreateData, *, reference: str) -> Patient:
        if data.preferred_location_id not in (None, self._practice):
            raise ValidationFailed(
                f"preferred_location_id: this Eaglesoft connection writes to location {self._practice} only"
            )
        body = self._build(lambda: mapping.patient_create_body(data, reference=reference))
        patient_id = await self._write("POST", "/patients", body, what="create patient")
        return await self._read_back(lambda: self._patient(patient_id))

    async def update_patient(self, patient_id: str, updates: PatientUpdateData, *, reference: str) -> Patient:
        await self._require_writable()
        current = await self._get_one("/patients/{id}", patient_id)
        body = self._build(lambda: mapping.patient_update_body(current, updates, reference=reference))
        saved_id = await self._write(
            "PUT", "/patients/{id}", body, path_params={"id": patient_id}, what="update patient"
        )
        return await self._read_back(lambda: self._patient(saved_id))

    async def _patient(self, patient_id: str) -> Patient:
        row = await self._get_one("/patients/{id}", patient_id)
        return self._decode(mapping.patient_from_eaglesoft, row, "patient")

    # ---- appointments ----------------------------------------------------------------------------------

    async def list_appointments(self, location_id: str | None, date_range: DateRange) -> list[Appointment]:
        if location_id is not None and location_id != self._practice:
            raise NotFound(f"location {location_id} is not the practice of this Eaglesoft connection")
        params = {
            **mapping.appointment_range_params(date_range.start, date_range.end, self._zone),
            "Classification": mapping.PATIENT_APPOINTMENT,
        }
        found = []
        async for row in self._rows("/appointments", params):
            appt = self._listed_appointment(row)
            # The server's window is widened on purpose (see mapping.appointment_range_params).
            if appt is not None and appt.start < date_range.end and appt.end > date_range.start:
                found.append(appt)
        return found

    def _listed_appointment(self, row: Json) -> Appointment | None:
        if mapping.is_block(row):
            return None
        try:
            return mapping.appointment_from_eaglesoft(row, self._zone)
        except NonexistentLocalTime:
            _log.warning(
                "eaglesoft appointment skipped: local time does not exist in zone appointment_id=%s zone=%s",
                row.get("AppointmentId"),
                self._zone.key,
            )
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise self._unreadable("appointment", row, exc) from None

    async def create_appointment(self, data: AppointmentCreateData, *, reference: str) -> Appointment:
        if data.location_id != self._practice:
            raise ValidationFailed(
                f"location_id: this Eaglesoft connection writes to location {self._practice} only"
            )
        body = self._build(
            lambda: mapping.appointment_create_body(data, reference=reference, zone=self._zone)
        )
        await self._require_writable()
        await self._require_chair(data.operatory_id)
        await self._ensure_free(data.operatory_id, data.start, data.end, exclude=None)
        appointment_id = await self._write("POST", "/appointments", body, what="create appointment")
        return await self._read_back(lambda: self._appointment(appointment_id))

    async def update_appointment(
        self, appointment_id: str, updates: AppointmentUpdateData, *, reference: str
    ) -> Appointment:
        await self._require_writable()
        current = await self._get_one("/appointments/{id}", appointment_id)
        if mapping.is_block(current):
            raise NotFound(f"appointment {appointment_id} is a schedule block, not an appointment")
        if updates.status in mapping.DELETED_STATUSES:
            return await self._cancel(appointment_id, current, updates, reference=reference)
        if updates.operatory_id is not None:
            await self._require_chair(updates.operatory_id)
        body = self._build(
            lambda: mapping.appointment_update_body(current, updates, reference=reference, zone=self._zone)
        )
        if {"StartTime", "EndTime", "LocationId"} & body.keys():
            start, end = self._build(lambda: mapping.appointment_instants({**current, **body}, self._zone))
            chair = str(body.get("LocationId", current.get("LocationId")))
            await self._ensure_free(chair, start, end, exclude=appointment_id)
        saved_id = await self._write(
            "PUT", "/appointments/{id}", body, path_params={"id": appointment_id}, what="update appointment"
        )
        return await self._read_back(lambda: self._appointment(saved_id))

    async def _cancel(
        self, appointment_id: str, current: Json, updates: AppointmentUpdateData, *, reference: str
    ) -> Appointment:
        before = self._decode(
            lambda r: mapping.appointment_from_eaglesoft(r, self._zone), current, "appointment"
        )
        await self._write(
            "DELETE",
            "/appointments/{id}",
            None,
            path_params={"id": appointment_id},
            what="cancel appointment",
        )
        # The record is gone: what the caller gets is its last state, with the status it asked for.
        return before.model_copy(update={"status": updates.status, "external_reference": reference})

    async def _appointment(self, appointment_id: str) -> Appointment:
        row = await self._get_one("/appointments/{id}", appointment_id)
        return self._decode(lambda r: mapping.appointment_from_eaglesoft(r, self._zone), row, "appointment")

    async def _ensure_free(self, chair: str, start: datetime, end: datetime, *, exclude: str | None) -> None:
        params = {**mapping.appointment_range_params(start, end, self._zone), "LocationId": chair}
        async for row in self._rows("/appointments", params):
            other_id = str(row.get("AppointmentId"))
            if other_id == exclude:
                continue
            try:
                other_start, other_end = mapping.appointment_instants(row, self._zone)
            except NonexistentLocalTime:
                continue  # cannot be placed in time (logged when listed); the office must fix it
            except (ValueError, KeyError, TypeError) as exc:
                raise self._unreadable("appointment", row, exc) from None
            if other_start < end and other_end > start:
                what = "schedule block" if mapping.is_block(row) else "appointment"
                raise Conflict(f"operatory {chair} is already booked by {what} {other_id}")

    # ---- reconciliation and health ---------------------------------------------------------------------

    async def find_by_reference(self, reference: str) -> Patient | Appointment | None:
        params = {"NotesContains": reference, "Classification": mapping.PATIENT_APPOINTMENT}
        async for row in self._rows_tagged("/appointments", params, "AppointmentNotes", reference):
            return self._decode(
                lambda r: mapping.appointment_from_eaglesoft(r, self._zone), row, "appointment"
            )
        async for row in self._rows_tagged(
            "/patients", {"NotesContains": reference}, "PatientNotes", reference
        ):
            return self._decode(mapping.patient_from_eaglesoft, row, "patient")
        return None

    async def _rows_tagged(self, route: str, params: Json, field: str, reference: str) -> AsyncIterator[Json]:
        """Rows whose notes marker is exactly ``reference``, newest (highest id) first."""
        tagged = [
            row
            async for row in self._rows(route, params)
            if mapping.split_notes(row.get(field))[1] == reference
        ]
        for row in reversed(tagged):
            yield row

    async def validate_connection(self) -> ConnectionStatus:
        version: str | None = None
        try:
            # The version is cached like static data (it changes with an upgrade); /system needs no session,
            # so one authenticated read of our practice proves the credentials and the practice id.
            version = await self._version()
            await self._get_one("/practices/{id}", self._practice)
        except PMSError as exc:
            _log.warning("eaglesoft connection check failed code=%s status=%s", exc.code, exc.http_status)
            return ConnectionStatus(
                ok=False, pms=self.kind, version=version, writable=False, detail=f"{exc.code}: {exc.message}"
            )
        major = major_version(version)
        writable = major is not None and major >= self._config.min_write_version
        detail = None if writable else f"writes need Eaglesoft {self._config.min_write_version} or newer"
        return ConnectionStatus(ok=True, pms=self.kind, version=version, writable=writable, detail=detail)

    async def _version(self) -> str | None:
        return await self._static.get_or_load("system", self._load_version)

    async def _load_version(self) -> str | None:
        response = await self._http.request("GET", "/system")
        body = self._object(response, "/system")
        version = body.get("Version")
        return str(version) if version is not None else None

    async def _require_writable(self) -> None:
        version = await self._version()
        major = major_version(version)
        if major is None or major < self._config.min_write_version:
            raise Unsupported(
                f"Eaglesoft {version or 'of unknown version'} cannot write: "
                f"{self._config.min_write_version} or newer needed"
            )

    # ---- writes ----------------------------------------------------------------------------------------

    async def _write(
        self,
        method: str,
        route: str,
        body: Json | None,
        *,
        what: str,
        path_params: Mapping[str, str] | None = None,
    ) -> str:
        """Send one asynchronous write and wait for its outcome; the id of the record it wrote."""
        await self._require_writable()
        with self._write_deadline():
            response = await self._http.request(method, route, path_params=path_params, json=body, write=True)
            write_id = self._accepted(response, route)
            return await await_write(
                lambda: self._write_status(write_id),
                write_id=write_id,
                what=what,
                policy=self._poll,
                remaining=deadline.remaining,
                sleep=self._sleep,
            )

    @contextmanager
    def _write_deadline(self) -> Iterator[None]:
        # A write is polled until decided: without a caller's deadline, ours bounds the wait.
        if deadline.remaining() is not None:
            yield
            return
        with deadline.deadline_scope(seconds=self._config.write_timeout_seconds):
            yield

    async def _write_status(self, write_id: str) -> WriteStatus:
        response = await self._http.request("GET", "/writes/{id}", path_params={"id": write_id})
        return parse_write_status(self._object(response, "/writes/{id}"), write_id)

    def _accepted(self, response: httpx.Response, route: str) -> str:
        try:
            return parse_accepted(self._object(response, route))
        except PMSError as exc:
            exc.outcome_unknown = True  # the PMS took something: we cannot tell what
            raise

    @staticmethod
    async def _read_back(read: Callable[[], Awaitable[T]]) -> T:
        """Read a written record. The write is applied: a failed read must not look like a failed write."""
        try:
            return await read()
        except PMSError as exc:
            exc.outcome_unknown = True
            raise
