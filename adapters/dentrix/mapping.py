"""Ascend dialect <-> normalized domain: pure functions, no I/O.

Readers raise :class:`ValueError` (pydantic's ``ValidationError`` is one) on a record they cannot map; the
adapter turns that into a :class:`adapters.errors.PMSError` without echoing the record, which may hold patient
data.

The command id of a write (its ``reference``) travels inside a free-text field of the record, as a marker
``[pms-relay:ref=<reference>]`` appended to the notes: Ascend has no integrator-reference field, and the notes
survive every edit made in the practice. Only the latest write's marker is kept, so
:meth:`find_by_reference` finds the record a write "created or last changed".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from adapters.domain import (
    Address,
    Appointment,
    AppointmentCreateData,
    AppointmentStatus,
    AppointmentUpdateData,
    DateRange,
    Gender,
    Location,
    Operatory,
    Patient,
    PatientCreateData,
    PatientSearchQuery,
    PatientStatus,
    PatientUpdateData,
    Phone,
    PhoneType,
)
from adapters.reference import split_notes, tag_notes

__all__ = [
    "APPOINTMENT_NOTES_FIELD",
    "LIST_FLOOR",
    "PATIENT_NOTES_FIELD",
    "STATUS_TABLE",
    "appointment_create_body",
    "appointment_from_ascend",
    "appointment_range_filter",
    "appointment_update_body",
    "clause",
    "format_instant",
    "join_filter",
    "location_from_ascend",
    "operatory_from_ascend",
    "parse_instant",
    "patient_create_body",
    "patient_from_ascend",
    "patient_matches_phone",
    "patient_search_filter",
    "patient_update_body",
    "reference_filter",
    "split_notes",
    "status_from_ascend",
    "status_to_ascend",
    "tag_notes",
]

# Where the reference marker lives. Appointments: ``other`` (the dialect's free-text notes).
APPOINTMENT_NOTES_FIELD = "other"
# Patients: the sandbox's free-text notes field (kept in one place so a vendor change is a one-line fix).
PATIENT_NOTES_FIELD = "notes"

# Ascend expects list calls to carry ``lastModified>=``; a full read uses a floor older than any record.
LIST_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)

# Normalized status <-> Ascend status: one row per status, both directions read from this table.
STATUS_TABLE: tuple[tuple[AppointmentStatus, str], ...] = (
    (AppointmentStatus.SCHEDULED, "UNCONFIRMED"),
    (AppointmentStatus.CONFIRMED, "CONFIRMED"),
    (AppointmentStatus.ARRIVED, "HERE"),
    (AppointmentStatus.IN_CHAIR, "CHAIR"),
    (AppointmentStatus.COMPLETED, "COMPLETED"),
    (AppointmentStatus.CANCELLED, "CANCELLED"),
    (AppointmentStatus.NO_SHOW, "MISSED"),
    (AppointmentStatus.BROKEN, "BROKEN"),
)
_STATUS_OUT = dict(STATUS_TABLE)
_STATUS_IN = {vendor: status for status, vendor in STATUS_TABLE}

# Ascend has no "unknown" gender: UNKNOWN is sent as an absent field, and an absent field reads as UNKNOWN.
_GENDER_TABLE: tuple[tuple[Gender, str], ...] = (
    (Gender.MALE, "M"),
    (Gender.FEMALE, "F"),
    (Gender.OTHER, "O"),
)
_GENDER_OUT = dict(_GENDER_TABLE)
_GENDER_IN = {vendor: gender for gender, vendor in _GENDER_TABLE}

_PATIENT_STATUS_TABLE: tuple[tuple[PatientStatus, str], ...] = (
    (PatientStatus.NEW, "NEW"),
    (PatientStatus.ACTIVE, "ACTIVE"),
    (PatientStatus.INACTIVE, "INACTIVE"),
    (PatientStatus.NON_PATIENT, "NON-PATIENT"),
)
_PATIENT_STATUS_OUT = dict(_PATIENT_STATUS_TABLE)
_PATIENT_STATUS_IN = {vendor: status for status, vendor in _PATIENT_STATUS_TABLE}

_PHONE_TYPE_TABLE: tuple[tuple[PhoneType, str], ...] = (
    (PhoneType.MOBILE, "MOBILE"),
    (PhoneType.HOME, "HOME"),
    (PhoneType.WORK, "WORK"),
    (PhoneType.OTHER, "OTHER"),
)
_PHONE_TYPE_OUT = dict(_PHONE_TYPE_TABLE)
_PHONE_TYPE_IN = {vendor: kind for kind, vendor in _PHONE_TYPE_TABLE}


Json = dict[str, Any]


# ---- scalars -------------------------------------------------------------------------------------------


def status_to_ascend(status: AppointmentStatus) -> str:
    return _STATUS_OUT[status]


def status_from_ascend(value: str) -> AppointmentStatus:
    try:
        return _STATUS_IN[value]
    except KeyError:
        raise ValueError(f"unknown Ascend appointment status {value!r}") from None


def format_instant(value: datetime) -> str:
    """An aware instant as Ascend writes it: UTC, second precision, ``Z``."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: an instant needs a time zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str) -> datetime:
    """An Ascend ``…Z`` (or offset) timestamp as an aware UTC datetime; a naive one is an error."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("Ascend timestamp without a zone")
    return value.astimezone(UTC)


def _stub(record_id: str, kind: str) -> Json:
    return {"id": record_id, "type": kind}


def _ref_id(body: Mapping[str, Any], key: str) -> str | None:
    ref = body.get(key)
    if isinstance(ref, Mapping) and ref.get("id") is not None:
        return str(ref["id"])
    return None


def _required_ref(body: Mapping[str, Any], key: str) -> str:
    found = _ref_id(body, key)
    if found is None:
        raise ValueError(f"Ascend record without a {key} reference")
    return found


# ---- filters -------------------------------------------------------------------------------------------

_OPERATORS = ("==", "!=", ">=", "<=", "~=", "->")


def _format_value(value: object) -> str:
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_format_value(item) for item in value) + "]"
    # Commas separate clauses, so a literal comma (and the escape itself) is backslash-escaped.
    return str(value).replace("\\", "\\\\").replace(",", "\\,")


def clause(field: str, op: str, value: object) -> str:
    """One filter clause, e.g. ``clause("start", ">=", dt)`` -> ``start>=2026-01-01T00:00:00Z``."""
    if op not in _OPERATORS:
        raise ValueError(f"unknown filter operator {op!r}")
    return f"{field}{op}{_format_value(value)}"


def join_filter(clauses: Iterable[str], *, modified_since: datetime = LIST_FLOOR) -> str:
    """All clauses must hold; the ``lastModified>=`` clause Ascend expects on list calls comes first."""
    return ",".join([clause("lastModified", ">=", modified_since), *clauses])


def patient_search_filter(query: PatientSearchQuery) -> list[str]:
    """Server-side clauses for a patient search. Names match partially (``~=`` is a case-insensitive
    *contains*), as a front desk types them; phone numbers match by digits, without a leading country code."""
    clauses = []
    if query.last_name:
        clauses.append(clause("lastName", "~=", query.last_name))
    if query.first_name:
        clauses.append(clause("firstName", "~=", query.first_name))
    if query.date_of_birth:
        clauses.append(clause("dateOfBirth", "==", query.date_of_birth))
    if query.email:
        clauses.append(clause("emailAddress", "==", query.email))
    if query.phone and (digits := _national_digits(query.phone)):
        clauses.append(clause("phones.number", "~=", digits))
    return clauses


def _national_digits(phone: str) -> str:
    digits = _digits(phone)
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def patient_matches_phone(patient: Patient, phone: str) -> bool:
    """Whether one of the patient's numbers contains ``phone``'s digits (the server's ``~=``, re-checked)."""
    wanted = _national_digits(phone)
    return bool(wanted) and any(wanted in _digits(p.number) for p in patient.phones)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def appointment_range_filter(date_range: DateRange, operatory_ids: Sequence[str] | None) -> list[str]:
    """Appointments overlapping ``date_range`` (start before its end, end after its start)."""
    clauses = [clause("start", "<=", date_range.end), clause("end", ">=", date_range.start)]
    if operatory_ids is not None:
        clauses.append(clause("operatory.id", "->", list(operatory_ids)))
    return clauses


def reference_filter(field: str, reference: str) -> list[str]:
    """Records whose notes carry ``reference``; the caller re-checks the parsed marker for an exact match."""
    return [clause(field, "~=", reference)]


# ---- locations and operatories -------------------------------------------------------------------------


def _address(body: Mapping[str, Any]) -> Address | None:
    fields = {
        "line1": body.get("address1"),
        "line2": body.get("address2"),
        "city": body.get("city"),
        "state": body.get("state"),
        "postal_code": body.get("postalCode"),
    }
    return Address(**fields) if any(v is not None for v in fields.values()) else None


def _address_body(address: Address) -> Json:
    pairs = {
        "address1": address.line1,
        "address2": address.line2,
        "city": address.city,
        "state": address.state,
        "postalCode": address.postal_code,
    }
    return {k: v for k, v in pairs.items() if v is not None}


def location_from_ascend(body: Mapping[str, Any]) -> Location:
    return Location(
        id=str(body["id"]),
        name=body["name"],
        time_zone=body["timeZone"],
        phone=body.get("phone"),
        address=_address(body),
    )


def operatory_from_ascend(body: Mapping[str, Any]) -> Operatory:
    return Operatory(
        id=str(body["id"]),
        location_id=_required_ref(body, "location"),
        name=body["name"],
        short_name=body.get("shortName"),
        active=bool(body.get("active", True)),
    )


# ---- appointments --------------------------------------------------------------------------------------


def appointment_from_ascend(body: Mapping[str, Any], *, location_of: Mapping[str, str]) -> Appointment:
    """``location_of`` maps operatory id -> location id, for records that carry no location of their own."""
    operatory_id = _required_ref(body, "operatory")
    location_id = _ref_id(body, "location") or location_of.get(operatory_id)
    if location_id is None:
        raise ValueError("Ascend appointment in an operatory of no known location")
    start, end = parse_instant(body["start"]), parse_instant(body["end"])
    notes, reference = split_notes(body.get(APPOINTMENT_NOTES_FIELD))
    return Appointment(
        id=str(body["id"]),
        patient_id=_required_ref(body, "patient"),
        location_id=location_id,
        operatory_id=operatory_id,
        provider_id=_ref_id(body, "provider"),
        start=start,
        end=end,
        duration_minutes=_minutes(start, end),
        status=status_from_ascend(body["status"]),
        appointment_type=body.get("title"),
        notes=notes,
        external_reference=reference,
    )


def _minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


def appointment_create_body(data: AppointmentCreateData, *, reference: str) -> Json:
    body: Json = {
        "start": format_instant(data.start),
        "end": format_instant(data.end),
        "duration": _minutes(data.start, data.end),
        "status": status_to_ascend(data.status),
        "patient": _stub(data.patient_id, "PatientV1"),
        "operatory": _stub(data.operatory_id, "OperatoryV1"),
        "location": _stub(data.location_id, "LocationV1"),
        APPOINTMENT_NOTES_FIELD: tag_notes(data.notes, reference),
    }
    if data.provider_id is not None:
        body["provider"] = _stub(data.provider_id, "ProviderV1")
    if data.appointment_type is not None:
        body["title"] = data.appointment_type
    return body


def appointment_update_body(
    current: Mapping[str, Any],
    updates: AppointmentUpdateData,
    *,
    reference: str,
    operatory_location: str | None = None,
) -> Json:
    """The full record to ``PUT``: ``current`` (as read) with the given fields replaced, so fields left
    ``None`` keep their value whatever the server does with omitted fields. Raises ValueError when the
    resulting end is not after the resulting start."""
    body: Json = {k: v for k, v in current.items() if k not in ("id", "type", "lastModified")}
    start = updates.start or parse_instant(current["start"])
    end = updates.end or parse_instant(current["end"])
    if end <= start:
        raise ValueError("appointment end must be after its start")
    body.update(start=format_instant(start), end=format_instant(end), duration=_minutes(start, end))
    if updates.operatory_id is not None:
        body["operatory"] = _stub(updates.operatory_id, "OperatoryV1")
        if operatory_location is not None:
            body["location"] = _stub(operatory_location, "LocationV1")
    if updates.provider_id is not None:
        body["provider"] = _stub(updates.provider_id, "ProviderV1")
    if updates.status is not None:
        body["status"] = status_to_ascend(updates.status)
    if updates.appointment_type is not None:
        body["title"] = updates.appointment_type
    old_notes, _ = split_notes(current.get(APPOINTMENT_NOTES_FIELD))
    new_notes = updates.notes if updates.notes is not None else old_notes
    body[APPOINTMENT_NOTES_FIELD] = tag_notes(new_notes, reference)
    return body


# ---- patients ------------------------------------------------------------------------------------------


def _phones_in(items: object) -> tuple[Phone, ...]:
    if not isinstance(items, list):
        return ()
    return tuple(
        Phone(number=item["number"], type=_PHONE_TYPE_IN.get(item.get("type", "OTHER"), PhoneType.OTHER))
        for item in items
        if isinstance(item, Mapping) and item.get("number")
    )


def _phones_out(phones: Iterable[Phone]) -> list[Json]:
    return [{"number": p.number, "type": _PHONE_TYPE_OUT[p.type]} for p in phones]


def patient_from_ascend(body: Mapping[str, Any]) -> Patient:
    _, reference = split_notes(body.get(PATIENT_NOTES_FIELD))
    dob = body.get("dateOfBirth")
    gender = body.get("gender")
    return Patient(
        id=str(body["id"]),
        first_name=body["firstName"],
        last_name=body["lastName"],
        middle_name=body.get("middleName"),
        preferred_name=body.get("preferredName"),
        date_of_birth=date.fromisoformat(dob) if dob else None,
        gender=_GENDER_IN[gender] if gender else Gender.UNKNOWN,
        phones=_phones_in(body.get("phones")),
        email=body.get("emailAddress"),
        address=_address(body),
        status=_PATIENT_STATUS_IN[body.get("patientStatus") or "ACTIVE"],
        chart_number=body.get("chartNumber"),
        external_reference=reference,
    )


def _patient_fields(
    first_name: str | None,
    last_name: str | None,
    middle_name: str | None,
    preferred_name: str | None,
    date_of_birth: date | None,
    gender: Gender | None,
    email: str | None,
) -> Json:
    pairs: dict[str, object] = {
        "firstName": first_name,
        "lastName": last_name,
        "middleName": middle_name,
        "preferredName": preferred_name,
        "dateOfBirth": date_of_birth.isoformat() if date_of_birth else None,
        "gender": _GENDER_OUT.get(gender) if gender else None,
        "emailAddress": email,
    }
    return {k: v for k, v in pairs.items() if v is not None}


def patient_create_body(data: PatientCreateData, *, reference: str) -> Json:
    body = _patient_fields(
        data.first_name,
        data.last_name,
        data.middle_name,
        data.preferred_name,
        data.date_of_birth,
        data.gender,
        data.email,
    )
    body["patientStatus"] = _PATIENT_STATUS_OUT[PatientStatus.NEW]
    if data.phones:
        body["phones"] = _phones_out(data.phones)
    if data.address is not None:
        body.update(_address_body(data.address))
    if data.preferred_location_id is not None:
        body["preferredLocation"] = _stub(data.preferred_location_id, "LocationV1")
    body[PATIENT_NOTES_FIELD] = tag_notes(None, reference)
    return body


def patient_update_body(current: Mapping[str, Any], updates: PatientUpdateData, *, reference: str) -> Json:
    """The full record to ``PUT``: ``current`` with the given fields replaced (see appointment_update_body)."""
    body: Json = {k: v for k, v in current.items() if k not in ("id", "type", "lastModified")}
    body.update(
        _patient_fields(
            updates.first_name,
            updates.last_name,
            updates.middle_name,
            updates.preferred_name,
            updates.date_of_birth,
            updates.gender,
            updates.email,
        )
    )
    if updates.gender is Gender.UNKNOWN:
        body["gender"] = None  # an explicit null clears a field; an absent one is kept
    if updates.phones is not None:
        body["phones"] = _phones_out(updates.phones)
    if updates.address is not None:
        # The address is replaced as a whole: lines the new one lacks are cleared, not kept.
        body.update(dict.fromkeys(("address1", "address2", "city", "state", "postalCode")))
        body.update(_address_body(updates.address))
    if updates.status is not None:
        body["patientStatus"] = _PATIENT_STATUS_OUT[updates.status]
    old_notes, _ = split_notes(current.get(PATIENT_NOTES_FIELD))
    body[PATIENT_NOTES_FIELD] = tag_notes(old_notes, reference)
    return body
