"""The Open Dental adapter: the nine operations of :class:`adapters.contract.PMSInterface` over the Open Dental
REST API (the Remote API at Open Dental HQ, or an office's API Service: the same dialect).

Transport, retries, rate limits and deadlines belong to :class:`adapters.http.PMSHttpClient`; this module
only knows Open Dental's resources, its ``Limit``/``Offset`` paging and what the PMS does not do for us:

- **Pace.** The API serves about one request per second per key, and answers 429 with ``Retry-After`` past
  that: the client's limiter spaces requests at ``rate_per_second`` (1 by default), and a short
  ``Retry-After`` is waited out in-call, a long one raised as :class:`~adapters.errors.RateLimited`.
- **Double booking.** The API accepts overlapping appointments in one operatory, so a create (or a move)
  first reads the operatory's appointments around the slot and raises :class:`~adapters.errors.Conflict`.
  Check and write are not atomic; the relay serializes one practice's commands, which keeps the window to
  edits made in the office at the same moment.
- **Writes.** ``POST`` answers 201 with the record and a ``Location``; ``PUT`` leaves omitted fields alone, so
  updates send only what changes (after one read, for the notes that carry the reference marker). A
  confirmation or a break is a second call (``/Confirm``, ``/Break``); should it, or the read of a record
  just written, fail, the error carries ``outcome_unknown``: the first write landed, and only
  :meth:`OpenDentalAdapter.find_by_reference` can say what the record is now.
- **Reconciliation.** ``find_by_reference`` reads the records changed within ``reference_lookback_hours``
  (``DateTStamp``) and keeps the one whose notes carry the marker.
- **Times.** Office-local naive times in each clinic's zone (:mod:`.times`); a listed appointment whose start
  does not exist in its zone (a spring-forward gap) is left out of the list and logged with its id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from adapters.domain import (
    Appointment,
    AppointmentCreateData,
    AppointmentStatus,
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
from adapters.errors import Conflict, NotFound, PMSError, ValidationFailed
from adapters.http import RetryPolicy
from adapters.http.adapter import OPERATORIES, HttpAdapter
from adapters.http.dialect import HttpDialect
from adapters.opendental import mapping
from adapters.opendental.auth import OdfhirKeys, odfhir_auth
from adapters.opendental.config import OpenDentalConfig
from adapters.opendental.errors import OPEN_DENTAL_ERRORS
from adapters.opendental.mapping import NO_CLINIC, NotAnAppointment, Office, StatusWrite
from adapters.opendental.paging import LimitOffsetPaging
from adapters.opendental.times import NonexistentLocalTime, format_datetime

__all__ = ["API_PREFIX", "OPEN_DENTAL", "OpenDentalAdapter"]

_log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
_TYPES = "appointment types"
_CONFIRMED = "confirmed definition"
# The preference that names the confirmation definition ``confirmVal: "Confirmed"`` sets.
CONFIRMED_PREFERENCE = "ApptEConfirmStatusAccepted"
VERSION_PREFERENCE = "ProgramVersion"

OPEN_DENTAL = HttpDialect(
    label="Open Dental",
    path_prefix=API_PREFIX,
    errors=OPEN_DENTAL_ERRORS,
    paging=LimitOffsetPaging(),
    auth_header=odfhir_auth,
    id_keys=("AptNum", "PatNum", "OperatoryNum", "ClinicNum", "AppointmentTypeNum"),
)
"""Open Dental over HTTP: the ODFHIR key pair, ``Limit``/``Offset`` paging over bare arrays, plain-text errors."""

Json = dict[str, Any]


class OpenDentalAdapter(HttpAdapter):
    """One office's Open Dental. ``transport``, ``sleep`` and ``clock`` (aware UTC now) are seams for tests."""

    kind = "OPENDENTAL"
    dialect = OPEN_DENTAL

    def __init__(
        self,
        config: OpenDentalConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._config = config
        self._clock = clock
        super().__init__(
            config,
            tokens=OdfhirKeys(config.developer_key, config.customer_key),
            headers={},
            transport=transport,
            retry=retry,
            sleep=sleep,
        )

    # ---- static data -----------------------------------------------------------------------------------

    async def _load_locations(self) -> tuple[Location, ...]:
        rows = await self._list_all("/clinics")
        if not rows:  # the office does not use clinics: it is one location
            return (mapping.office_location(self._config.office_name, self._config.time_zone),)
        clinics = (
            self._decode(
                lambda r: mapping.location_from_clinic(
                    r, time_zone=self._config.zone_of(str(r["ClinicNum"]))
                ),
                row,
                "clinic",
            )
            for row in rows
        )
        return tuple(clinic for clinic in clinics if clinic is not None)

    async def _load_operatories(self) -> tuple[Operatory, ...]:
        locations = {loc.id for loc in await self.list_locations()}
        uses_clinics = locations != {NO_CLINIC}
        rows = await self._list_all("/operatories")
        operatories = (
            self._decode(lambda r: mapping.operatory_from_od(r, uses_clinics=uses_clinics), row, "operatory")
            for row in rows
        )
        # An operatory of a hidden clinic, or of none in an office with clinics, is on no location's schedule.
        return tuple(op for op in operatories if op.location_id in locations)

    async def _load_types(self) -> dict[int, str]:
        rows = await self._list_all("/appointmenttypes")
        return {int(row["AppointmentTypeNum"]): str(row["AppointmentTypeName"]) for row in rows}

    async def _load_confirmed(self) -> int | None:
        value = await self._preference(CONFIRMED_PREFERENCE)
        return int(value) if value is not None and value.isdigit() else None

    async def _preference(self, name: str) -> str | None:
        response = await self._http.request("GET", "/preferences", params={"PrefName": name})
        rows = self._json(response, "/preferences")
        for row in rows if isinstance(rows, list) else ():
            if isinstance(row, dict) and row.get("PrefName") == name:
                return str(row.get("ValueString"))
        return None

    async def _office(self) -> Office:
        """What reading an appointment needs, from the static cache (loaded once per TTL)."""
        locations = await self.list_locations()
        operatories = await self.list_operatories()
        return Office(
            default_zone=ZoneInfo(self._config.time_zone),
            zones={loc.id: ZoneInfo(loc.time_zone) for loc in locations},
            location_of={op.id: op.location_id for op in operatories},
            type_names=await self._static.get_or_load(_TYPES, self._load_types),
            confirmed_def=await self._static.get_or_load(_CONFIRMED, self._load_confirmed),
        )

    async def _bookable(self, operatory_id: str, location_id: str | None) -> Operatory:
        """A visible operatory (of ``location_id``, when given); a miss reloads the cache once."""
        found = await self._operatory(operatory_id)
        if found is None:
            self._static.invalidate(OPERATORIES)
            found = await self._operatory(operatory_id)
        if found is None:
            raise ValidationFailed(f"operatory {operatory_id} is not a known operatory")
        if location_id is not None and found.location_id != location_id:
            raise ValidationFailed(f"operatory {operatory_id} is not an operatory of location {location_id}")
        if not found.active:
            raise ValidationFailed(f"operatory {operatory_id} is hidden: it takes no new booking")
        return found

    async def _operatory(self, operatory_id: str) -> Operatory | None:
        return next((op for op in await self.list_operatories() if op.id == operatory_id), None)

    def _now_local(self, zone: ZoneInfo) -> datetime:
        return self._clock().astimezone(zone).replace(tzinfo=None)

    # ---- patients --------------------------------------------------------------------------------------

    async def search_patients(self, query: PatientSearchQuery) -> list[Patient]:
        found: list[Patient] = []
        async for row in self._rows("/patients", mapping.patient_search_params(query)):
            found.append(self._decode(mapping.patient_from_od, row, "patient"))
            if len(found) >= query.limit:
                break
        return found

    async def create_patient(self, data: PatientCreateData, *, reference: str) -> Patient:
        body = self._build(lambda: mapping.patient_create_body(data, reference=reference))
        response = await self._http.request("POST", "/patients", json=body, write=True)
        created = await self._created(response, "/patients", "PatNum")
        return self._decode(mapping.patient_from_od, created, "patient")

    async def update_patient(self, patient_id: str, updates: PatientUpdateData, *, reference: str) -> Patient:
        current = await self._get_one("/patients/{id}", patient_id)
        body = self._build(lambda: mapping.patient_update_body(current, updates, reference=reference))
        response = await self._http.request(
            "PUT", "/patients/{id}", path_params={"id": patient_id}, json=body, write=True
        )
        saved = await self._saved(response, "/patients/{id}", "PatNum", patient_id)
        return self._decode(mapping.patient_from_od, saved, "patient")

    # ---- appointments ----------------------------------------------------------------------------------

    async def list_appointments(self, location_id: str | None, date_range: DateRange) -> list[Appointment]:
        office = await self._office()
        params = mapping.appointment_range_params(
            date_range.start, date_range.end, office.zone(location_id or NO_CLINIC)
        )
        if location_id is not None:
            if location_id not in office.zones:
                raise NotFound(f"location {location_id} is not a location of this office")
            if location_id != NO_CLINIC:
                params["ClinicNum"] = location_id
        found = []
        async for row in self._rows("/appointments", params):
            appt = self._listed(row, office)
            # The server's window is whole days, widened (see mapping.appointment_range_params).
            if (
                appt is not None
                and (location_id is None or appt.location_id == location_id)
                and appt.start < date_range.end
                and appt.end > date_range.start
            ):
                found.append(appt)
        return found

    def _listed(self, row: Json, office: Office) -> Appointment | None:
        try:
            return mapping.appointment_from_od(row, office)
        except NotAnAppointment:
            return None
        except NonexistentLocalTime:
            _log.warning(
                "opendental appointment skipped: local time does not exist in zone appointment_id=%s",
                row.get("AptNum"),
            )
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise self._unreadable("appointment", row, exc) from None

    async def create_appointment(self, data: AppointmentCreateData, *, reference: str) -> Appointment:
        office = await self._office()
        await self._bookable(data.operatory_id, data.location_id)
        now = self._now_local(office.zone(data.location_id))
        body, then = self._build(
            lambda: mapping.appointment_create_body(data, reference=reference, office=office, now_local=now)
        )
        await self._ensure_free(data.operatory_id, data.start, data.end, office, exclude=None)
        response = await self._http.request("POST", "/appointments", json=body, write=True)
        created = await self._created(response, "/appointments", "AptNum")
        saved = await self._follow_up(str(created["AptNum"]), then, created)
        return self._decode(lambda r: mapping.appointment_from_od(r, office), saved, "appointment")

    async def update_appointment(
        self, appointment_id: str, updates: AppointmentUpdateData, *, reference: str
    ) -> Appointment:
        current = await self._get_one("/appointments/{id}", appointment_id)
        if current.get("AptStatus") in mapping.NOT_APPOINTMENTS:
            raise NotFound(
                f"appointment {appointment_id} is a planned appointment or a note, not on the schedule"
            )
        office = await self._office()
        location = mapping.appointment_location(current, office)
        if updates.operatory_id is not None:
            location = (await self._bookable(updates.operatory_id, None)).location_id
        now = self._now_local(office.zone(location))
        body, then = self._build(
            lambda: mapping.appointment_update_body(
                current, updates, reference=reference, office=office, location_id=location, now_local=now
            )
        )
        await self._check_move(appointment_id, current, body, updates.status, office)
        response = await self._http.request(
            "PUT", "/appointments/{id}", path_params={"id": appointment_id}, json=body, write=True
        )
        saved = await self._saved(response, "/appointments/{id}", "AptNum", appointment_id)
        saved = await self._follow_up(appointment_id, then, saved)
        return self._decode(lambda r: mapping.appointment_from_od(r, office), saved, "appointment")

    async def _check_move(
        self,
        appointment_id: str,
        current: Json,
        body: Json,
        status: AppointmentStatus | None,
        office: Office,
    ) -> None:
        """A move (or a revival of a freed appointment) into a slot that another appointment holds: Conflict."""
        before = self._decode(
            lambda r: mapping.status_from_od(r, office.confirmed_def), current, "appointment"
        )
        after = status or before
        moved = bool({"AptDateTime", "Pattern", "Op"} & body.keys())
        if after in mapping.FREE_STATUSES or not (moved or before in mapping.FREE_STATUSES):
            return
        start, end = self._build(lambda: mapping.appointment_instants({**current, **body}, office))
        operatory = str(body.get("Op", current.get("Op")))
        await self._ensure_free(operatory, start, end, office, exclude=appointment_id)

    async def _ensure_free(
        self, operatory_id: str, start: datetime, end: datetime, office: Office, *, exclude: str | None
    ) -> None:
        zone = office.zone(office.location_of.get(operatory_id, NO_CLINIC))
        params = {**mapping.appointment_range_params(start, end, zone), "Op": operatory_id}
        async for row in self._rows("/appointments", params):
            other_id = str(row.get("AptNum"))
            if other_id == exclude:
                continue
            try:
                status = mapping.status_from_od(row, office.confirmed_def)
                other_start, other_end = mapping.appointment_instants(row, office)
            except (NotAnAppointment, NonexistentLocalTime):
                continue  # a note, or a start that cannot be placed in time (logged when listed)
            except (ValueError, KeyError, TypeError) as exc:
                raise self._unreadable("appointment", row, exc) from None
            if status not in mapping.FREE_STATUSES and other_start < end and other_end > start:
                raise Conflict(f"operatory {operatory_id} is already booked by appointment {other_id}")

    async def _follow_up(self, appointment_id: str, then: StatusWrite, row: Json) -> Json:
        """The confirmation or break that completes a write already applied; its failure leaves the outcome
        unknown (the record changed, but not as far as asked)."""
        if then.confirm is None and then.break_type is None:
            return row
        route, body = (
            ("/appointments/{id}/Confirm", {"confirmVal": then.confirm})
            if then.confirm is not None
            else ("/appointments/{id}/Break", {"breakType": then.break_type})
        )
        try:
            response = await self._http.request(
                "PUT", route, path_params={"id": appointment_id}, json=body, write=True
            )
            return await self._saved(response, "/appointments/{id}", "AptNum", appointment_id)
        except PMSError as exc:
            exc.outcome_unknown = True
            raise

    # ---- reconciliation and health ---------------------------------------------------------------------

    async def find_by_reference(self, reference: str) -> Patient | Appointment | None:
        since = {"DateTStamp": self._lookback()}
        appointments = [
            row
            async for row in self._tagged("/appointments", since, mapping.APPOINTMENT_NOTES_FIELD, reference)
            if row.get("AptStatus") not in mapping.NOT_APPOINTMENTS
        ]
        if appointments:
            office = await self._office()
            newest = max(appointments, key=lambda row: int(row["AptNum"]))
            return self._decode(lambda r: mapping.appointment_from_od(r, office), newest, "appointment")
        patients = [
            row
            async for row in self._tagged("/patients/Simple", since, mapping.PATIENT_NOTES_FIELD, reference)
        ]
        if not patients:
            return None
        newest = max(patients, key=lambda row: int(row["PatNum"]))
        return self._decode(mapping.patient_from_od, newest, "patient")

    async def _tagged(self, route: str, params: Json, field: str, reference: str) -> AsyncIterator[Json]:
        async for row in self._rows(route, params):
            if mapping.split_notes(row.get(field) or None)[1] == reference:
                yield row

    def _lookback(self) -> str:
        # DateTStamp is the office server's wall clock; a lookback of days dwarfs any zone difference.
        since = self._clock() - timedelta(hours=self._config.reference_lookback_hours)
        return format_datetime(since.astimezone(ZoneInfo(self._config.time_zone)).replace(tzinfo=None))

    async def validate_connection(self) -> ConnectionStatus:
        try:
            # Uncached on purpose: one authenticated read proves the key pair and reports the version.
            version = await self._preference(VERSION_PREFERENCE)
        except PMSError as exc:
            _log.warning("opendental connection check failed code=%s status=%s", exc.code, exc.http_status)
            return ConnectionStatus(
                ok=False, pms=self.kind, writable=False, detail=f"{exc.code}: {exc.message}"
            )
        return ConnectionStatus(ok=True, pms=self.kind, version=version, writable=True)

    # ---- HTTP plumbing ---------------------------------------------------------------------------------

    async def _created(self, response: httpx.Response, route: str, id_key: str) -> Json:
        """The record a 201 answered with; else the one its ``Location`` names, read back."""
        body = self._json(response, route) if response.content else None
        if isinstance(body, dict) and body.get(id_key) is not None:
            return body
        record_id = _last_segment(response.headers.get("Location"))
        if record_id is None:
            raise PMSError(
                f"Open Dental POST {route}: created a record without naming it", outcome_unknown=True
            )
        return await self._read_back(f"{route}/{{id}}", record_id)

    async def _saved(self, response: httpx.Response, route: str, id_key: str, record_id: str) -> Json:
        """The record a PUT answered with; else the record, read back."""
        body = self._json(response, route) if response.content else None
        if isinstance(body, dict) and body.get(id_key) is not None:
            return body
        return await self._read_back(route, record_id)

    async def _read_back(self, route: str, record_id: str) -> Json:
        """Read a written record. The write is applied: a failed read must not look like a failed write."""
        try:
            return await self._get_one(route, record_id)
        except PMSError as exc:
            exc.outcome_unknown = True
            raise


def _last_segment(location: str | None) -> str | None:
    """The id at the end of a ``Location`` (``https://…/api/v1/appointments/34`` -> ``34``)."""
    if not location:
        return None
    segment = urlsplit(location).path.rstrip("/").rpartition("/")[2]
    return segment if segment.isdigit() else None
