"""Eaglesoft dialect <-> normalized domain: pure functions, no I/O.

Readers raise :class:`ValueError` (pydantic's ``ValidationError`` is one) on a record they cannot map; the
adapter turns that into a :class:`adapters.errors.PMSError` without echoing the record, which may hold patient
data.

Vocabulary: Eaglesoft's *practice* is our location, its *chair* our operatory, and an appointment's
``LocationId`` is its chair number. Times are office-local and naive (see :mod:`.times`). Booleans are
``"Y"``/``"N"``. Providers hang off an appointment as a list; the primary one is our ``provider_id``.

Appointment status: Eaglesoft has no status column, so the normalized status is read from the arrival and
confirmation columns through :data:`STATUS_TABLE` (first matching row wins), and written back through the
same table. A cancelled appointment is deleted in Eaglesoft; a schedule block (``Classification`` 2) is not an
appointment and never leaves this module as one.

The command id of a write travels in the record's notes (``AppointmentNotes``, ``PatientNotes``) as a marker
``[pms-relay:ref=<reference>]``: Eaglesoft has no integrator-reference column, and the notes survive edits made
in the office. Only the latest write's marker is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adapters.domain import (
    Address,
    Appointment,
    AppointmentCreateData,
    AppointmentStatus,
    AppointmentUpdateData,
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
from adapters.eaglesoft.times import format_local, parse_local, to_local, to_utc
from adapters.reference import split_notes, tag_notes

__all__ = [
    "BLOCK",
    "DELETED_STATUSES",
    "PATIENT_APPOINTMENT",
    "STATUS_TABLE",
    "appointment_create_body",
    "appointment_from_eaglesoft",
    "appointment_instants",
    "appointment_range_params",
    "appointment_update_body",
    "is_block",
    "location_from_eaglesoft",
    "operatory_from_eaglesoft",
    "patient_create_body",
    "patient_from_eaglesoft",
    "patient_search_params",
    "patient_update_body",
    "split_notes",
    "status_fields",
    "status_from_eaglesoft",
    "tag_notes",
    "yes_no",
]

Json = dict[str, Any]

PATIENT_APPOINTMENT = 1
BLOCK = 2  # a block on the schedule (lunch, meeting): not a patient visit

# Normalized statuses that Eaglesoft records by deleting the appointment (it has no "cancelled" row).
DELETED_STATUSES = frozenset({AppointmentStatus.CANCELLED, AppointmentStatus.BROKEN})

# ``(arrival statuses, confirmation statuses or None for any, normalized status)``: read top-down, first
# match wins. Arrival: 0 not arrived, 1 arrived, 2 seated, 3 checked out, 4 walked out, 5 no-show.
# Confirmation: 0 unconfirmed, 1 confirmed, 2 left message, 3 no answer.
STATUS_TABLE: tuple[tuple[frozenset[int], frozenset[int] | None, AppointmentStatus], ...] = (
    (frozenset({5}), None, AppointmentStatus.NO_SHOW),
    (frozenset({3, 4}), None, AppointmentStatus.COMPLETED),
    (frozenset({2}), None, AppointmentStatus.IN_CHAIR),
    (frozenset({1}), None, AppointmentStatus.ARRIVED),
    (frozenset({0}), frozenset({1}), AppointmentStatus.CONFIRMED),
    (frozenset({0}), None, AppointmentStatus.SCHEDULED),
)

# Writing a status: the arrival status to store, and the confirmation status when the status fixes one.
# COMPLETED is written as 4 (walked out), Eaglesoft's "done". SCHEDULED clears a confirmation (1 -> 0) but
# keeps "left message"/"no answer", which read as SCHEDULED anyway.
_STATUS_OUT: dict[AppointmentStatus, tuple[int, int | None]] = {
    AppointmentStatus.SCHEDULED: (0, None),
    AppointmentStatus.CONFIRMED: (0, 1),
    AppointmentStatus.ARRIVED: (1, None),
    AppointmentStatus.IN_CHAIR: (2, None),
    AppointmentStatus.COMPLETED: (4, None),
    AppointmentStatus.NO_SHOW: (5, None),
}

_GENDER_IN = {"M": Gender.MALE, "F": Gender.FEMALE, "O": Gender.OTHER}
# Eaglesoft's ``Sex`` is M or F: OTHER and UNKNOWN are stored as no value (and read back as UNKNOWN).
_GENDER_OUT = {Gender.MALE: "M", Gender.FEMALE: "F"}

# Phone columns, in the order a phone of type OTHER takes the first free one.
_PHONE_COLUMNS: tuple[tuple[PhoneType, str], ...] = (
    (PhoneType.MOBILE, "CellPhone"),
    (PhoneType.HOME, "HomePhone"),
    (PhoneType.WORK, "WorkPhone"),
)
_ADDRESS_COLUMNS = ("Address1", "Address2", "City", "State", "Zipcode")


# DST shifts are at most a couple of hours: a server-side window widened by this much, then filtered exactly
# on instants, cannot miss an appointment around a change, whatever the naive wall-clock order does there.
_WINDOW_MARGIN = timedelta(hours=3)


# ---- scalars -------------------------------------------------------------------------------------------


def yes_no(value: bool) -> str:
    return "Y" if value else "N"


def _is_yes(value: object) -> bool:
    return isinstance(value, str) and value.strip().upper() == "Y"


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"Eaglesoft {name} is not an integer")
    return int(value)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


# ---- status --------------------------------------------------------------------------------------------


def status_from_eaglesoft(arrival: int, confirmation: int) -> AppointmentStatus:
    """The normalized status of an appointment that exists (a deleted one is CANCELLED by definition)."""
    for arrivals, confirmations, status in STATUS_TABLE:
        if arrival in arrivals and (confirmations is None or confirmation in confirmations):
            return status
    raise ValueError(f"unknown Eaglesoft arrival status {arrival}")


def status_fields(status: AppointmentStatus, *, current_confirmation: int = 0) -> Json:
    """The columns that record ``status``. CANCELLED and BROKEN are deletions, not columns: ValueError."""
    if status in DELETED_STATUSES:
        raise ValueError(f"status {status} is written by deleting the appointment")
    arrival, confirmation = _STATUS_OUT[status]
    if confirmation is None:
        confirmation = 0 if current_confirmation == 1 and status is AppointmentStatus.SCHEDULED else None
    fields: Json = {"AppointmentArrivalStatus": arrival}
    if confirmation is not None and confirmation != current_confirmation:
        fields["ConfirmationStatus"] = confirmation
    return fields


# ---- practices and chairs ------------------------------------------------------------------------------


def _address(body: Mapping[str, Any]) -> Address | None:
    values = [_text(body.get(column)) for column in _ADDRESS_COLUMNS]
    if all(v is None for v in values):
        return None
    line1, line2, city, state, postal = values
    return Address(line1=line1, line2=line2, city=city, state=state, postal_code=postal)


def _address_body(address: Address | None) -> Json:
    values = (
        (address.line1, address.line2, address.city, address.state, address.postal_code)
        if address is not None
        else (None,) * len(_ADDRESS_COLUMNS)
    )
    return dict(zip(_ADDRESS_COLUMNS, values, strict=True))


def location_from_eaglesoft(body: Mapping[str, Any], *, time_zone: str) -> Location:
    """A practice; the PMS knows no zone, so ``time_zone`` comes from our configuration."""
    return Location(
        id=str(_int(body["PracticeId"], "PracticeId")),
        name=body["Name"],
        time_zone=time_zone,
        phone=_text(body.get("Phone")),
        address=_address(body),
    )


def operatory_from_eaglesoft(body: Mapping[str, Any]) -> Operatory | None:
    """A chair, or None for a hidden one: hidden from every scheduler view, it counts as deleted."""
    if _is_yes(body.get("Hidden")):
        return None
    return Operatory(
        id=str(_int(body["ChairNum"], "ChairNum")),
        location_id=str(_int(body["PracticeId"], "PracticeId")),
        name=body["ChairName"],
        active=True,
    )


# ---- appointments --------------------------------------------------------------------------------------


def is_block(body: Mapping[str, Any]) -> bool:
    """Whether a row of ``/appointments`` is a schedule block rather than a patient's appointment."""
    return body.get("Classification") == BLOCK or body.get("PatientId") is None


def appointment_instants(body: Mapping[str, Any], zone: ZoneInfo) -> tuple[datetime, datetime]:
    """``(start, end)`` of an appointment row as UTC instants (see :mod:`.times` for DST edges)."""
    start = to_utc(parse_local(body["StartTime"]), zone)
    end = to_utc(parse_local(body["EndTime"]), zone)
    return start, end


def _primary_provider(body: Mapping[str, Any]) -> str | None:
    providers = [p for p in body.get("Providers") or () if isinstance(p, Mapping) and p.get("ProviderId")]
    primary = [p for p in providers if _is_yes(p.get("Primary"))]
    # An appointment whose providers carry no primary flag: its only provider is the primary one.
    chosen = primary or (providers if len(providers) == 1 else [])
    return str(chosen[0]["ProviderId"]) if chosen else None


def _minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


def appointment_from_eaglesoft(body: Mapping[str, Any], zone: ZoneInfo) -> Appointment:
    """A patient appointment; a schedule block is a ValueError (callers filter with :func:`is_block`)."""
    if is_block(body):
        raise ValueError("Eaglesoft schedule block is not an appointment")
    start, end = appointment_instants(body, zone)
    notes, reference = split_notes(body.get("AppointmentNotes"))
    status = status_from_eaglesoft(
        _int(body.get("AppointmentArrivalStatus") or 0, "AppointmentArrivalStatus"),
        _int(body.get("ConfirmationStatus") or 0, "ConfirmationStatus"),
    )
    return Appointment(
        id=str(_int(body["AppointmentId"], "AppointmentId")),
        patient_id=str(body["PatientId"]),
        location_id=str(_int(body["PracticeId"], "PracticeId")),
        operatory_id=str(_int(body["LocationId"], "LocationId")),
        provider_id=_primary_provider(body),
        start=start,
        end=end,
        duration_minutes=_minutes(start, end),
        status=status,
        appointment_type=_text(body.get("Description")),
        notes=notes,
        external_reference=reference,
    )


def appointment_range_params(start: datetime, end: datetime, zone: ZoneInfo) -> Json:
    """``StartDate``/``EndDate`` for the instants ``[start, end)``, widened: the caller filters exactly.

    Naive wall-clock order is not time order inside a repeated hour, so the server's window is widened by
    a margin wider than any DST shift and the caller keeps rows whose instants overlap the range.
    """
    low = (start.astimezone(zone).replace(tzinfo=None)) - _WINDOW_MARGIN
    high = (end.astimezone(zone).replace(tzinfo=None)) + _WINDOW_MARGIN
    return {"StartDate": format_local(low), "EndDate": format_local(high)}


def _providers_body(provider_id: str) -> list[Json]:
    return [{"ProviderId": provider_id, "Primary": "Y"}]


def _chair(operatory_id: str) -> int:
    try:
        return int(operatory_id)
    except ValueError:
        raise ValueError("operatory_id: an Eaglesoft chair number is an integer") from None


def appointment_create_body(data: AppointmentCreateData, *, reference: str, zone: ZoneInfo) -> Json:
    """The ``POST /appointments`` body. Raises ValueError for a status that cannot be created (a deletion),
    or a start/end that would not read back as the same instant (see :mod:`.times`)."""
    if data.status in DELETED_STATUSES:
        raise ValueError(f"status: an appointment cannot be created {data.status}")
    body: Json = {
        "PatientId": data.patient_id,
        "LocationId": _chair(data.operatory_id),
        "StartTime": _local_field(data.start, zone, "start"),
        "EndTime": _local_field(data.end, zone, "end"),
        "Classification": PATIENT_APPOINTMENT,
        "AppointmentNotes": tag_notes(data.notes, reference),
        **status_fields(data.status),
    }
    if data.provider_id is not None:
        body["Providers"] = _providers_body(data.provider_id)
    if data.appointment_type is not None:
        body["Description"] = data.appointment_type
    return body


def _local_field(instant: datetime, zone: ZoneInfo, name: str) -> str:
    try:
        return format_local(to_local(instant, zone))
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def appointment_update_body(
    current: Mapping[str, Any], updates: AppointmentUpdateData, *, reference: str, zone: ZoneInfo
) -> Json:
    """The partial ``PUT`` body: only the columns that change, plus the notes with the new marker.

    Raises ValueError for a resulting end not after the resulting start, or for a deletion status (the
    adapter sends ``DELETE`` instead).
    """
    # The current times are only read when one of them stays: a record stored at a nonexistent local time
    # can still be fixed by moving it.
    start = updates.start or to_utc(parse_local(current["StartTime"]), zone)
    end = updates.end or to_utc(parse_local(current["EndTime"]), zone)
    if end <= start:
        raise ValueError("end: appointment end must be after its start")
    body: Json = {}
    if updates.start is not None:
        body["StartTime"] = _local_field(start, zone, "start")
    if updates.end is not None:
        body["EndTime"] = _local_field(end, zone, "end")
    if updates.operatory_id is not None:
        body["LocationId"] = _chair(updates.operatory_id)
    if updates.provider_id is not None:
        body["Providers"] = _providers_body(updates.provider_id)
    if updates.status is not None:
        confirmation = _int(current.get("ConfirmationStatus") or 0, "ConfirmationStatus")
        body.update(status_fields(updates.status, current_confirmation=confirmation))
    if updates.appointment_type is not None:
        body["Description"] = updates.appointment_type
    old_notes, _ = split_notes(current.get("AppointmentNotes"))
    body["AppointmentNotes"] = tag_notes(updates.notes if updates.notes is not None else old_notes, reference)
    return body


# ---- patients ------------------------------------------------------------------------------------------


def _phones_in(body: Mapping[str, Any]) -> tuple[Phone, ...]:
    return tuple(
        Phone(number=number, type=kind)
        for kind, column in _PHONE_COLUMNS
        if (number := _text(body.get(column))) is not None
    )


def _phone_digits(number: str) -> str:
    digits = "".join(c for c in number if c.isdigit())
    # Eaglesoft stores 10 digits: a leading North American country code is dropped.
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def _phones_body(phones: Iterable[Phone]) -> Json:
    """One number per column; OTHER takes the first free column. More numbers than columns: ValueError."""
    columns: dict[str, str | None] = {column: None for _, column in _PHONE_COLUMNS}
    by_type = dict(_PHONE_COLUMNS)
    others = []
    for phone in phones:
        column = by_type.get(phone.type)
        if column is None or columns[column] is not None:
            others.append(phone)
        else:
            columns[column] = _phone_digits(phone.number)
    for phone in others:
        free = next((c for c, v in columns.items() if v is None), None)
        if free is None:
            raise ValueError("phones: Eaglesoft keeps at most one cell, one home and one work number")
        columns[free] = _phone_digits(phone.number)
    return dict(columns)


def _initial(middle_name: str | None) -> str | None:
    """Eaglesoft keeps a middle *initial*: a middle name is stored (and read back) as its first letter."""
    letters = [c for c in middle_name or "" if c.isalpha()]
    return letters[0].upper() if letters else None


def _patient_status(body: Mapping[str, Any]) -> PatientStatus:
    if body.get("PatientStatus") == "N":
        return PatientStatus.NON_PATIENT
    return PatientStatus.INACTIVE if body.get("Status") == "I" else PatientStatus.ACTIVE


def _patient_status_body(status: PatientStatus) -> Json:
    # Eaglesoft has no "new" patient: a new patient is an active one.
    return {
        "Status": "I" if status is PatientStatus.INACTIVE else "A",
        "PatientStatus": "N" if status is PatientStatus.NON_PATIENT else "Y",
    }


def patient_from_eaglesoft(body: Mapping[str, Any]) -> Patient:
    _, reference = split_notes(body.get("PatientNotes"))
    birth = _text(body.get("BirthDate"))
    return Patient(
        id=str(_int(body["PatientId"], "PatientId")),
        first_name=body["FirstName"],
        last_name=body["LastName"],
        middle_name=_text(body.get("MiddleInitial")),
        preferred_name=_text(body.get("PreferredName")),
        date_of_birth=date.fromisoformat(birth[:10]) if birth else None,
        gender=_GENDER_IN.get(str(body.get("Sex") or "").upper(), Gender.UNKNOWN),
        phones=_phones_in(body),
        email=_text(body.get("EmailAddress")),
        address=_address(body),
        status=_patient_status(body),
        external_reference=reference,
    )


def patient_search_params(query: PatientSearchQuery) -> Json:
    """Server-side filters: names match by case-insensitive prefix, phones by digits, e-mail exactly."""
    params: Json = {}
    if query.last_name:
        params["LastName"] = query.last_name
    if query.first_name:
        params["FirstName"] = query.first_name
    if query.date_of_birth:
        params["BirthDate"] = query.date_of_birth.isoformat()
    if query.email:
        params["EmailAddress"] = query.email
    if query.phone and (digits := _phone_digits(query.phone)):
        params["Phone"] = digits
    return params


def patient_create_body(data: PatientCreateData, *, reference: str) -> Json:
    body: Json = {
        "FirstName": data.first_name,
        "LastName": data.last_name,
        "BirthDate": data.date_of_birth.isoformat(),
        **_patient_status_body(PatientStatus.NEW),
        "PatientNotes": tag_notes(None, reference),
    }
    optional = {
        "MiddleInitial": _initial(data.middle_name),
        "PreferredName": data.preferred_name,
        "Sex": _GENDER_OUT.get(data.gender),
        "EmailAddress": data.email,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if data.phones:
        body.update({k: v for k, v in _phones_body(data.phones).items() if v is not None})
    if data.address is not None:
        body.update({k: v for k, v in _address_body(data.address).items() if v is not None})
    return body


def patient_update_body(current: Mapping[str, Any], updates: PatientUpdateData, *, reference: str) -> Json:
    """The partial ``PUT`` body: given fields replace (phones and address as a whole), plus the marker."""
    body: Json = {}
    scalars = {
        "FirstName": updates.first_name,
        "LastName": updates.last_name,
        "MiddleInitial": _initial(updates.middle_name),
        "PreferredName": updates.preferred_name,
        "BirthDate": updates.date_of_birth.isoformat() if updates.date_of_birth else None,
        "EmailAddress": updates.email,
    }
    body.update({k: v for k, v in scalars.items() if v is not None})
    if updates.gender is not None:
        body["Sex"] = _GENDER_OUT.get(updates.gender)  # OTHER/UNKNOWN clear it
    if updates.phones is not None:
        body.update(_phones_body(updates.phones))
    if updates.address is not None:
        body.update(_address_body(updates.address))
    if updates.status is not None:
        body.update(_patient_status_body(updates.status))
    old_notes, _ = split_notes(current.get("PatientNotes"))
    body["PatientNotes"] = tag_notes(old_notes, reference)
    return body
