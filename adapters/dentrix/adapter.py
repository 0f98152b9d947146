"""The Dentrix adapter: the nine operations of :class:`adapters.contract.PMSInterface` over the Ascend API.

Transport, retries, rate limits, tokens and deadlines belong to :class:`adapters.http.PMSHttpClient`; this
module only knows Ascend's resources, its keyset paging and what the PMS does not do for us:

- **Double booking.** Ascend accepts overlapping appointments in one operatory, so a create (or a move) first
  reads the operatory's appointments for the slot and raises :class:`~adapters.errors.Conflict`. Check and
  write are not atomic; the relay serializes one practice's commands, which keeps the window to edits made
  in the office at the same moment.
- **Reconciliation.** A write tags the record's notes with its reference (see :mod:`.mapping`);
  :meth:`DentrixAdapter.find_by_reference` searches the notes with Ascend's partial-match operator
  ``~=`` and keeps only an exact marker match.
- **Partial updates** read the record and ``PUT`` it back whole with the given fields replaced, so that
  fields left ``None`` keep their value whatever Ascend does with omitted fields.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import aclosing
from typing import Any

import httpx

from adapters.dentrix import mapping
from adapters.dentrix.auth import AscendTokenSource
from adapters.dentrix.config import DentrixConfig
from adapters.dentrix.errors import ASCEND_ERRORS
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
from adapters.http import RetryPolicy, TokenCache
from adapters.http.adapter import OPERATORIES, HttpAdapter
from adapters.http.dialect import HttpDialect
from adapters.http.paging import KeysetPaging

__all__ = ["API_PREFIX", "ASCEND", "VERSION_HEADER", "DentrixAdapter"]

_log = logging.getLogger(__name__)

API_PREFIX = "/ascend-gateway/api/v1"
# Response header that reports the API version, when the gateway sends one.
VERSION_HEADER = "X-Ascend-Version"

ASCEND = HttpDialect(
    label="Dentrix",
    path_prefix=API_PREFIX,
    errors=ASCEND_ERRORS,
    paging=KeysetPaging(size_param="pageSize", after_param="lastId", rows_key="data"),
    # Single records come bare or, from some gateways, wrapped like lists.
    record_key="data",
)
"""Ascend over HTTP: bearer tokens, keyset paging, the ``{"data": …}`` envelope, Apigee fault bodies."""

# Statuses that free the operatory: a cancelled or broken appointment no longer holds its slot.
_FREE_STATUSES = frozenset({AppointmentStatus.CANCELLED, AppointmentStatus.BROKEN})

Json = dict[str, Any]


class DentrixAdapter(HttpAdapter):
    """One practice's Dentrix, reached through Ascend. ``transport`` is the seam for tests."""

    kind = "DENTRIX"
    dialect = ASCEND

    def __init__(
        self,
        config: DentrixConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        source = AscendTokenSource(config.client_id, config.client_secret)
        super().__init__(
            config,
            tokens=TokenCache(source, refresh_ahead=config.token_refresh_margin_seconds),
            headers={"Organization-ID": config.organization_id},
            transport=transport,
            retry=retry,
        )

    # ---- static data -----------------------------------------------------------------------------------

    async def _load_locations(self) -> tuple[Location, ...]:
        rows = await self._list_all("/locations", _filter([]))
        return tuple(self._decode(mapping.location_from_ascend, row, "location") for row in rows)

    async def _load_operatories(self) -> tuple[Operatory, ...]:
        rows = await self._list_all("/operatories", _filter([]))
        return tuple(self._decode(mapping.operatory_from_ascend, row, "operatory") for row in rows)

    async def _location_of(self) -> dict[str, str]:
        return {op.id: op.location_id for op in await self.list_operatories()}

    # ---- patients --------------------------------------------------------------------------------------

    async def search_patients(self, query: PatientSearchQuery) -> list[Patient]:
        found: list[Patient] = []
        async with aclosing(self._rows("/patients", _filter(mapping.patient_search_filter(query)))) as rows:
            async for row in rows:
                patient = self._decode(mapping.patient_from_ascend, row, "patient")
                if query.phone is None or mapping.patient_matches_phone(patient, query.phone):
                    found.append(patient)
                    if len(found) >= query.limit:
                        break
        return found

    async def create_patient(self, data: PatientCreateData, *, reference: str) -> Patient:
        body = self._build(lambda: mapping.patient_create_body(data, reference=reference))
        created = await self._send_json("POST", "/patients", body)
        return self._decode(mapping.patient_from_ascend, created, "patient")

    async def update_patient(self, patient_id: str, updates: PatientUpdateData, *, reference: str) -> Patient:
        current = await self._get_one("/patients/{id}", patient_id)
        body = self._build(lambda: mapping.patient_update_body(current, updates, reference=reference))
        saved = await self._send_json("PUT", "/patients/{id}", body, path_params={"id": patient_id})
        return self._decode(mapping.patient_from_ascend, saved, "patient")

    # ---- appointments ----------------------------------------------------------------------------------

    async def list_appointments(self, location_id: str | None, date_range: DateRange) -> list[Appointment]:
        location_of = await self._location_of()
        operatory_ids = None
        if location_id is not None:
            operatory_ids = sorted(op for op, loc in location_of.items() if loc == location_id)
            if not operatory_ids:
                if all(loc.id != location_id for loc in await self.list_locations()):
                    raise NotFound(f"location {location_id} is not a location of this practice")
                return []
        clauses = mapping.appointment_range_filter(date_range, operatory_ids)
        found = []
        async for row in self._rows("/appointments", _filter(clauses)):
            appt = self._decode(
                lambda r: mapping.appointment_from_ascend(r, location_of=location_of), row, "appointment"
            )
            # The server's range clauses are inclusive; the contract's overlap is half-open.
            if appt.start < date_range.end and appt.end > date_range.start:
                found.append(appt)
        return found

    async def create_appointment(self, data: AppointmentCreateData, *, reference: str) -> Appointment:
        if await self._operatory_location(data.operatory_id) != data.location_id:
            raise ValidationFailed(
                f"operatory {data.operatory_id} is not a known operatory of location {data.location_id}"
            )
        await self._ensure_free(data.operatory_id, DateRange(start=data.start, end=data.end), exclude=None)
        body = self._build(lambda: mapping.appointment_create_body(data, reference=reference))
        created = await self._send_json("POST", "/appointments", body)
        return await self._appointment(created)

    async def update_appointment(
        self, appointment_id: str, updates: AppointmentUpdateData, *, reference: str
    ) -> Appointment:
        new_location = None
        if updates.operatory_id is not None:
            new_location = await self._operatory_location(updates.operatory_id)
            if new_location is None:
                raise ValidationFailed(f"operatory {updates.operatory_id} is not a known operatory")
        current = await self._get_one("/appointments/{id}", appointment_id)
        before = await self._appointment(current)
        body = self._build(
            lambda: mapping.appointment_update_body(
                current, updates, reference=reference, operatory_location=new_location
            )
        )
        after = await self._appointment({**body, "id": appointment_id})
        if after.status not in _FREE_STATUSES and _moved(before, after):
            slot = DateRange(start=after.start, end=after.end)
            await self._ensure_free(after.operatory_id, slot, exclude=appointment_id)
        saved = await self._send_json("PUT", "/appointments/{id}", body, path_params={"id": appointment_id})
        return await self._appointment(saved)

    async def _appointment(self, row: Json) -> Appointment:
        location_of = await self._location_of()
        return self._decode(
            lambda r: mapping.appointment_from_ascend(r, location_of=location_of), row, "appointment"
        )

    async def _operatory_location(self, operatory_id: str) -> str | None:
        """The operatory's location; a miss reloads the cache once, for an operatory added since."""
        found = (await self._location_of()).get(operatory_id)
        if found is None:
            self._static.invalidate(OPERATORIES)
            found = (await self._location_of()).get(operatory_id)
        return found

    async def _ensure_free(self, operatory_id: str, slot: DateRange, *, exclude: str | None) -> None:
        clauses = mapping.appointment_range_filter(slot, [operatory_id])
        async with aclosing(self._rows("/appointments", _filter(clauses))) as rows:
            async for row in rows:
                other = await self._appointment(row)
                if other.id == exclude or other.status in _FREE_STATUSES:
                    continue
                if other.start < slot.end and other.end > slot.start:
                    raise Conflict(f"operatory {operatory_id} is already booked by appointment {other.id}")

    # ---- reconciliation and health ---------------------------------------------------------------------

    async def find_by_reference(self, reference: str) -> Patient | Appointment | None:
        appt_rows = await self._rows_tagged("/appointments", mapping.APPOINTMENT_NOTES_FIELD, reference)
        if appt_rows:
            return await self._appointment(appt_rows[-1])
        patient_rows = await self._rows_tagged("/patients", mapping.PATIENT_NOTES_FIELD, reference)
        if not patient_rows:
            return None
        return self._decode(mapping.patient_from_ascend, patient_rows[-1], "patient")

    async def _rows_tagged(self, route: str, field: str, reference: str) -> list[Json]:
        tagged = []
        async for row in self._rows(route, _filter(mapping.reference_filter(field, reference))):
            _, found = mapping.split_notes(row.get(field))
            if found == reference:
                tagged.append(row)
        return tagged

    async def validate_connection(self) -> ConnectionStatus:
        try:
            params = {**_filter([]), **self.dialect.paging.start(1).params}
            response = await self._http.request("GET", "/locations", params=params)
        except PMSError as exc:
            _log.warning("dentrix connection check failed code=%s status=%s", exc.code, exc.http_status)
            return ConnectionStatus(
                ok=False, pms=self.kind, writable=False, detail=f"{exc.code}: {exc.message}"
            )
        return ConnectionStatus(
            ok=True, pms=self.kind, version=response.headers.get(VERSION_HEADER), writable=True
        )

    # ---- HTTP plumbing ---------------------------------------------------------------------------------

    async def _send_json(
        self, method: str, route: str, body: Json, *, path_params: Mapping[str, str] | None = None
    ) -> Json:
        response = await self._http.request(method, route, path_params=path_params, json=body, write=True)
        return self._object(response, route)


def _filter(clauses: list[str]) -> dict[str, str]:
    """The query of a list call: Ascend's ``filter=`` (every call carries one, even empty)."""
    return {"filter": mapping.join_filter(clauses)}


def _moved(before: Appointment, after: Appointment) -> bool:
    return (before.operatory_id, before.start, before.end) != (
        after.operatory_id,
        after.start,
        after.end,
    ) or (before.status in _FREE_STATUSES)
