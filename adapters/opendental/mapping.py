"""Open Dental dialect <-> normalized domain: pure functions and tables, no I/O.

Readers raise :class:`ValueError` (pydantic's ``ValidationError`` is one) on a record they cannot map; the
adapter turns that into a :class:`adapters.errors.PMSError` without echoing the record, which may hold patient
data. :class:`NotAnAppointment` (a ValueError) marks the rows of ``/appointments`` that are no appointment.

The dialect: PascalCase fields; ids are integers (``PatNum``, ``AptNum``, ``OperatoryNum``, ``ClinicNum``,
``ProvNum``; ``0`` means none); booleans are the strings ``"true"``/``"false"``; dates ``yyyy-MM-dd`` and
office-local naive times ``yyyy-MM-dd HH:mm:ss``, with ``0001-01-01`` for none (:mod:`.times`). An
appointment has a start (``AptDateTime``) and a ``Pattern``, one character per five minutes, for its length.

**Daylight saving.** The start is a wall-clock reading (:mod:`adapters.localtime` decides gaps and
overlaps); the ``Pattern`` is elapsed time: the end is the start instant plus the pattern's length. So an
appointment booked 01:30-03:30 across the spring-forward change is 60 minutes long, stored as 12 characters,
and reads back as 01:30-03:30.

**Status.** ``AptStatus`` with the confirmation (``Confirmed``, a definition number: the one the office's
``ApptEConfirmStatusAccepted`` preference names means confirmed) and the arrival times, through
:data:`STATUS_TABLE`; ``Planned``, ``PtNote`` and ``PtNoteCompleted`` rows are a treatment plan's or the
schedule's notes, never appointments. Writes go through :func:`status_write`: fields of the record,
``PUT /appointments/{id}/Confirm`` (``confirmVal``) or ``PUT /appointments/{id}/Break`` (``breakType``).

**Reference marker.** ``[pms-relay:ref=<command id>]`` rides in the appointment's ``Note`` and the patient's
``AddrNote`` (the free-text note of the patient row; the API has no integrator-reference field).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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
from adapters.opendental.times import (
    EMPTY_DATETIME,
    format_date,
    format_datetime,
    parse_date,
    parse_datetime,
    to_local,
    to_utc,
)
from adapters.reference import split_notes, tag_notes

__all__ = [
    "APPOINTMENT_NOTES_FIELD",
    "FREE_STATUSES",
    "NOT_APPOINTMENTS",
    "NO_CLINIC",
    "PATIENT_NOTES_FIELD",
    "SLOT_MINUTES",
    "STATUS_TABLE",
    "NotAnAppointment",
    "Office",
    "StatusWrite",
    "appointment_create_body",
    "appointment_from_od",
    "appointment_instants",
    "appointment_location",
    "appointment_range_params",
    "appointment_update_body",
    "from_bool",
    "location_from_clinic",
    "office_location",
    "operatory_from_od",
    "patient_create_body",
    "patient_from_od",
    "patient_search_params",
    "patient_update_body",
    "pattern_for",
    "pattern_minutes",
    "split_notes",
    "status_from_od",
    "status_write",
    "tag_notes",
    "to_bool",
]

Json = dict[str, Any]

NO_CLINIC = "0"  # ClinicNum 0: "not attached to a clinic", and the one location of an office without clinics
SLOT_MINUTES = 5  # one Pattern character
APPOINTMENT_NOTES_FIELD = "Note"
PATIENT_NOTES_FIELD = "AddrNote"
_ARRIVAL_TIMES = ("DateTimeArrived", "DateTimeSeated", "DateTimeDismissed")

# Rows of /appointments that are no appointment: a treatment plan's planned visit, notes on the schedule.
NOT_APPOINTMENTS = frozenset({"Planned", "PtNote", "PtNoteCompleted"})
_ON_SCHEDULE = frozenset({"Scheduled", "ASAP"})  # ASAP: booked, and the patient would come sooner

# Statuses that free the operatory: a cancelled or broken appointment no longer holds its slot.
FREE_STATUSES = frozenset({AppointmentStatus.CANCELLED, AppointmentStatus.BROKEN, AppointmentStatus.NO_SHOW})

# ``(AptStatus values, the progress it needs or None, normalized status)``: read top-down, first match wins.
# Progress: "dismissed", "seated", "arrived" (the DateTime... field is set) or "confirmed".
STATUS_TABLE: tuple[tuple[frozenset[str], str | None, AppointmentStatus], ...] = (
    (frozenset({"Complete"}), None, AppointmentStatus.COMPLETED),
    (frozenset({"Broken"}), None, AppointmentStatus.BROKEN),
    (frozenset({"UnschedList"}), None, AppointmentStatus.CANCELLED),
    (_ON_SCHEDULE, "dismissed", AppointmentStatus.COMPLETED),
    (_ON_SCHEDULE, "seated", AppointmentStatus.IN_CHAIR),
    (_ON_SCHEDULE, "arrived", AppointmentStatus.ARRIVED),
    (_ON_SCHEDULE, "confirmed", AppointmentStatus.CONFIRMED),
    (_ON_SCHEDULE, None, AppointmentStatus.SCHEDULED),
)

# Open Dental records a broken appointment with its kind; both kinds read back as BROKEN.
_BREAK_TYPES = {AppointmentStatus.NO_SHOW: "Missed", AppointmentStatus.BROKEN: "Cancelled"}

_GENDER_TABLE: tuple[tuple[Gender, str], ...] = (
    (Gender.MALE, "Male"),
    (Gender.FEMALE, "Female"),
    (Gender.OTHER, "Other"),
    (Gender.UNKNOWN, "Unknown"),
)
_GENDER_OUT = dict(_GENDER_TABLE)
_GENDER_IN = {vendor: gender for gender, vendor in _GENDER_TABLE}

_PATIENT_STATUS_IN = {
    "Patient": PatientStatus.ACTIVE,
    "NonPatient": PatientStatus.NON_PATIENT,
    "Inactive": PatientStatus.INACTIVE,
    "Archived": PatientStatus.INACTIVE,
    "Deceased": PatientStatus.INACTIVE,
    "Prospective": PatientStatus.NEW,
}
_PATIENT_STATUS_OUT = {
    PatientStatus.ACTIVE: "Patient",
    PatientStatus.NON_PATIENT: "NonPatient",
    PatientStatus.INACTIVE: "Inactive",
    PatientStatus.NEW: "Prospective",
}

# Phone columns, in the order a phone of type OTHER takes the first free one.
_PHONE_COLUMNS: tuple[tuple[PhoneType, str], ...] = (
    (PhoneType.MOBILE, "WirelessPhone"),
    (PhoneType.HOME, "HmPhone"),
    (PhoneType.WORK, "WkPhone"),
)
_ADDRESS_COLUMNS = ("Address", "Address2", "City", "State", "Zip")


class NotAnAppointment(ValueError):
    """A row of ``/appointments`` that is a planned visit or a note, not an appointment."""


@dataclass(frozen=True)
class Office:
    """What reading or writing an appointment needs to know about the office, read once per operation from
    the cached static data: each location's zone, each operatory's location, the appointment types, and
    the confirmation definition that means confirmed."""

    default_zone: ZoneInfo
    zones: Mapping[str, ZoneInfo] = field(default_factory=dict)
    location_of: Mapping[str, str] = field(default_factory=dict)  # OperatoryNum -> location id
    type_names: Mapping[int, str] = field(default_factory=dict)  # AppointmentTypeNum -> name
    confirmed_def: int | None = None

    def zone(self, location_id: str) -> ZoneInfo:
        return self.zones.get(location_id, self.default_zone)

    def type_num(self, name: str) -> int:
        wanted = name.casefold()
        found = [num for num, known in self.type_names.items() if known.casefold() == wanted]
        if not found:
            raise ValueError("appointment_type: not an appointment type of this office")
        return found[0]


# ---- scalars -------------------------------------------------------------------------------------------


def to_bool(value: bool) -> str:
    """A boolean as Open Dental writes it."""
    return "true" if value else "false"


def from_bool(value: object) -> bool:
    """``"true"``/``"false"`` (any case); anything else is a dialect error."""
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in ("true", "false"):
        raise ValueError('Open Dental boolean is not "true" or "false"')
    return text == "true"


def _num(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise ValueError(f"Open Dental {name} is not a number")
    return int(value)


def _ref(value: object, name: str) -> str | None:
    """A foreign key as our id: None for Open Dental's 0 (none)."""
    number = _num(value if value is not None else 0, name)
    return str(number) if number else None


def _id_out(value: str, name: str) -> int:
    if not value.isdigit():
        raise ValueError(f"{name}: an Open Dental id is a number")
    return int(value)


def _text(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


# ---- Pattern: the length of an appointment ---------------------------------------------------------


def pattern_minutes(pattern: object) -> int:
    """The length of a ``Pattern`` (``//XXXX//``: ``X`` the provider's time, ``/`` the assistant's)."""
    if not isinstance(pattern, str) or not pattern or set(pattern) - {"X", "/"}:
        raise ValueError("Open Dental Pattern is not a run of X and /")
    return len(pattern) * SLOT_MINUTES


def pattern_for(minutes: int) -> str:
    """The ``Pattern`` of an appointment ``minutes`` long: provider time throughout (Open Dental books in
    five-minute steps, so any other length is refused)."""
    if minutes < SLOT_MINUTES or minutes % SLOT_MINUTES:
        raise ValueError(f"end: Open Dental books appointments in {SLOT_MINUTES}-minute steps")
    return "X" * (minutes // SLOT_MINUTES)


# ---- status --------------------------------------------------------------------------------------------


def _progress(body: Mapping[str, Any], confirmed_def: int | None) -> set[str]:
    done = {
        name
        for name, column in zip(("arrived", "seated", "dismissed"), _ARRIVAL_TIMES, strict=True)
        if parse_datetime(str(body.get(column) or EMPTY_DATETIME)) is not None
    }
    confirmed = body.get("Confirmed")
    if confirmed_def is not None and confirmed is not None and _num(confirmed, "Confirmed") == confirmed_def:
        done.add("confirmed")
    return done


def status_from_od(body: Mapping[str, Any], confirmed_def: int | None) -> AppointmentStatus:
    """The normalized status of a row of ``/appointments``; :class:`NotAnAppointment` for a planned visit or
    a note, ValueError for a status Open Dental does not have."""
    apt_status = body.get("AptStatus")
    if apt_status in NOT_APPOINTMENTS:
        raise NotAnAppointment(f"Open Dental {apt_status} row is not an appointment")
    progress = _progress(body, confirmed_def)
    for statuses, needs, status in STATUS_TABLE:
        if apt_status in statuses and (needs is None or needs in progress):
            return status
    raise ValueError("unknown Open Dental AptStatus")


@dataclass(frozen=True)
class StatusWrite:
    """How to record a status: ``fields`` of the appointment (in its POST or PUT), then, when set, a
    ``PUT /appointments/{id}/Confirm`` with ``confirm`` as ``confirmVal`` or a ``PUT .../Break`` with
    ``break_type`` as ``breakType``."""

    fields: Json
    confirm: str | None = None
    break_type: str | None = None


def status_write(
    status: AppointmentStatus,
    *,
    current: Mapping[str, Any] | None,
    confirmed_def: int | None,
    now_local: datetime,
) -> StatusWrite:
    """The writes that give an appointment (``current``; None for a new one) the status ``status``.

    Only what changes is written. Arrival times are stamped ``now_local`` (office time) when first set and
    cleared with ``0001-01-01 00:00:00``; CANCELLED sends the appointment to the unscheduled list; NO_SHOW and
    BROKEN break it (``Missed``, ``Cancelled``).
    """
    row = current or {}
    before = _progress(row, confirmed_def) if current is not None else set()
    if status in _BREAK_TYPES:
        if current is None:
            raise ValueError(f"status: an appointment cannot be created {status}")
        broken = row.get("AptStatus") == "Broken"
        return StatusWrite({}, break_type=None if broken else _BREAK_TYPES[status])
    if status is AppointmentStatus.CANCELLED:
        if current is None:
            raise ValueError(f"status: an appointment cannot be created {status}")
        return StatusWrite(_changed(row, {"AptStatus": "UnschedList"}))
    if status is AppointmentStatus.COMPLETED:
        return StatusWrite(_changed(row, {"AptStatus": "Complete"}))
    keep = {
        AppointmentStatus.ARRIVED: {"arrived"},
        AppointmentStatus.IN_CHAIR: {"arrived", "seated"},
    }.get(status, set())
    stamp = format_datetime(now_local.replace(microsecond=0))
    wanted: Json = {
        "AptStatus": "Scheduled" if row.get("AptStatus") not in _ON_SCHEDULE else row["AptStatus"]
    }
    for name, column in zip(("arrived", "seated", "dismissed"), _ARRIVAL_TIMES, strict=True):
        if name in keep and name not in before:
            wanted[column] = stamp
        elif name not in keep and name in before:
            wanted[column] = EMPTY_DATETIME
    confirm = None
    if status is AppointmentStatus.CONFIRMED and "confirmed" not in before:
        confirm = "Confirmed"
    elif status is AppointmentStatus.SCHEDULED and "confirmed" in before:
        confirm = "None"
    return StatusWrite(_changed(row, wanted), confirm=confirm)


def _changed(current: Mapping[str, Any], wanted: Json) -> Json:
    return {key: value for key, value in wanted.items() if current.get(key) != value}


# ---- clinics and operatories ---------------------------------------------------------------------------


def _address(body: Mapping[str, Any]) -> Address | None:
    values = [_text(body.get(column)) for column in _ADDRESS_COLUMNS]
    if all(v is None for v in values):
        return None
    line1, line2, city, state, postal = values
    return Address(line1=line1, line2=line2, city=city, state=state, postal_code=postal)


def _address_body(address: Address) -> Json:
    values = (address.line1, address.line2, address.city, address.state, address.postal_code)
    return {column: value or "" for column, value in zip(_ADDRESS_COLUMNS, values, strict=True)}


def location_from_clinic(body: Mapping[str, Any], *, time_zone: str) -> Location | None:
    """A clinic, or None for a hidden one; Open Dental knows no zone, so ``time_zone`` is our configuration."""
    if from_bool(body.get("IsHidden", "false")):
        return None
    return Location(
        id=str(_num(body["ClinicNum"], "ClinicNum")),
        name=_text(body.get("Description")) or _text(body.get("Abbr")) or f"Clinic {body['ClinicNum']}",
        time_zone=time_zone,
        phone=_text(body.get("Phone")),
        address=_address(body),
    )


def office_location(name: str, time_zone: str) -> Location:
    """The one location of an office that does not use clinics (``/clinics`` is empty)."""
    return Location(id=NO_CLINIC, name=name, time_zone=time_zone)


def operatory_from_od(body: Mapping[str, Any], *, uses_clinics: bool) -> Operatory:
    """An operatory; a hidden one is listed inactive (it keeps its history, and takes no new booking)."""
    clinic = str(_num(body.get("ClinicNum", 0), "ClinicNum")) if uses_clinics else NO_CLINIC
    return Operatory(
        id=str(_num(body["OperatoryNum"], "OperatoryNum")),
        location_id=clinic,
        name=body["OpName"],
        short_name=_text(body.get("Abbrev")),
        active=not from_bool(body.get("IsHidden", "false")),
    )


# ---- appointments --------------------------------------------------------------------------------------


def appointment_location(body: Mapping[str, Any], office: Office) -> str:
    """The location of an appointment row: its operatory's (its own ClinicNum for an unknown operatory)."""
    operatory = str(_num(body["Op"], "Op"))
    return office.location_of.get(operatory) or str(_num(body.get("ClinicNum", 0), "ClinicNum"))


def appointment_instants(body: Mapping[str, Any], office: Office) -> tuple[datetime, datetime]:
    """``(start, end)`` of an appointment row as UTC instants: the start read in its location's zone, the end
    the start plus the Pattern. :class:`~adapters.localtime.NonexistentLocalTime` for a start in a gap."""
    local = parse_datetime(str(body["AptDateTime"]))
    if local is None:
        raise ValueError("Open Dental appointment without an AptDateTime")
    start = to_utc(local, office.zone(appointment_location(body, office)))
    return start, start + timedelta(minutes=pattern_minutes(body.get("Pattern")))


def appointment_from_od(body: Mapping[str, Any], office: Office) -> Appointment:
    status = status_from_od(body, office.confirmed_def)
    start, end = appointment_instants(body, office)
    notes, reference = split_notes(_text(body.get(APPOINTMENT_NOTES_FIELD)))
    type_num = _num(body.get("AppointmentTypeNum") or 0, "AppointmentTypeNum")
    return Appointment(
        id=str(_num(body["AptNum"], "AptNum")),
        patient_id=str(_num(body["PatNum"], "PatNum")),
        location_id=appointment_location(body, office),
        operatory_id=str(_num(body["Op"], "Op")),
        provider_id=_ref(body.get("ProvNum"), "ProvNum"),
        start=start,
        end=end,
        duration_minutes=int((end - start).total_seconds() // 60),
        status=status,
        appointment_type=office.type_names.get(type_num) if type_num else None,
        notes=notes,
        external_reference=reference,
    )


def appointment_range_params(start: datetime, end: datetime, zone: ZoneInfo) -> Json:
    """``dateStart``/``dateEnd`` (whole days, both inclusive) around the instants ``[start, end)``, a day
    wider on each side: the server filters on the start's date, an appointment may begin the evening before,
    and the caller keeps only the rows whose instants overlap."""
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    return {"dateStart": format_date(first), "dateEnd": format_date(last)}


def _start_field(instant: datetime, zone: ZoneInfo) -> str:
    try:
        return format_datetime(to_local(instant, zone))
    except ValueError as exc:
        raise ValueError(f"start: {exc}") from None


def _minutes(start: datetime, end: datetime) -> int:
    seconds = (end - start).total_seconds()
    if seconds % 60:
        raise ValueError(f"end: Open Dental books appointments in {SLOT_MINUTES}-minute steps")
    return int(seconds // 60)


def appointment_create_body(
    data: AppointmentCreateData, *, reference: str, office: Office, now_local: datetime
) -> tuple[Json, StatusWrite]:
    """The ``POST /appointments`` body, and the status write that follows it (a confirmation).

    ValueError for a status that cannot be created, a start in the second pass of a repeated hour, a length
    that is not whole five-minute steps, or an appointment type the office does not have.
    """
    status = status_write(data.status, current=None, confirmed_def=office.confirmed_def, now_local=now_local)
    body: Json = {
        "PatNum": _id_out(data.patient_id, "patient_id"),
        "Op": _id_out(data.operatory_id, "operatory_id"),
        "AptDateTime": _start_field(data.start, office.zone(data.location_id)),
        "Pattern": pattern_for(_minutes(data.start, data.end)),
        **status.fields,
        APPOINTMENT_NOTES_FIELD: tag_notes(data.notes, reference),
    }
    if data.location_id != NO_CLINIC:
        body["ClinicNum"] = _id_out(data.location_id, "location_id")
    if data.provider_id is not None:
        body["ProvNum"] = _id_out(data.provider_id, "provider_id")
    if data.appointment_type is not None:
        body["AppointmentTypeNum"] = office.type_num(data.appointment_type)
    return body, StatusWrite({}, confirm=status.confirm)


def appointment_update_body(
    current: Mapping[str, Any],
    updates: AppointmentUpdateData,
    *,
    reference: str,
    office: Office,
    location_id: str,
    now_local: datetime,
) -> tuple[Json, StatusWrite]:
    """The partial ``PUT /appointments/{id}`` body (only what changes, plus the notes with the new marker;
    Open Dental leaves omitted fields alone), and the status write that follows it.

    ``location_id`` is where the appointment will be (its new operatory's location). ValueError as for a
    create, or when the resulting end is not after the resulting start.
    """
    zone = office.zone(location_id)
    # The current times are only read when one of them stays: a start stored at a nonexistent local time
    # can still be fixed by moving it.
    if updates.start is not None and updates.end is not None:
        start, end = updates.start, updates.end
    else:
        old_start, old_end = appointment_instants(current, office)
        start, end = updates.start or old_start, updates.end or old_end
    if end <= start:
        raise ValueError("end: appointment end must be after its start")
    body: Json = {}
    if updates.start is not None or location_id != appointment_location(current, office):
        body["AptDateTime"] = _start_field(start, zone)
    pattern = pattern_for(_minutes(start, end))
    if pattern_minutes(current.get("Pattern") or "X") != _minutes(start, end):
        body["Pattern"] = pattern
    if updates.operatory_id is not None:
        body["Op"] = _id_out(updates.operatory_id, "operatory_id")
        if location_id != NO_CLINIC:
            body["ClinicNum"] = _id_out(location_id, "location_id")
    if updates.provider_id is not None:
        body["ProvNum"] = _id_out(updates.provider_id, "provider_id")
    if updates.appointment_type is not None:
        body["AppointmentTypeNum"] = office.type_num(updates.appointment_type)
    status = StatusWrite({})
    if updates.status is not None:
        status = status_write(
            updates.status, current=current, confirmed_def=office.confirmed_def, now_local=now_local
        )
        body.update(status.fields)
    old_notes, _ = split_notes(_text(current.get(APPOINTMENT_NOTES_FIELD)))
    body[APPOINTMENT_NOTES_FIELD] = tag_notes(
        updates.notes if updates.notes is not None else old_notes, reference
    )
    return body, StatusWrite({}, confirm=status.confirm, break_type=status.break_type)


# ---- patients ------------------------------------------------------------------------------------------


def _phones_in(body: Mapping[str, Any]) -> tuple[Phone, ...]:
    return tuple(
        Phone(number=number, type=kind)
        for kind, column in _PHONE_COLUMNS
        if (number := _text(body.get(column))) is not None
    )


def _phones_body(phones: Iterable[Phone]) -> Json:
    """One number per column; OTHER takes the first free one. More numbers than columns: ValueError."""
    columns: dict[str, str] = {column: "" for _, column in _PHONE_COLUMNS}
    by_type = dict(_PHONE_COLUMNS)
    others = []
    for phone in phones:
        column = by_type.get(phone.type)
        if column is None or columns[column]:
            others.append(phone)
        else:
            columns[column] = phone.number
    for phone in others:
        free = next((c for c, v in columns.items() if not v), None)
        if free is None:
            raise ValueError("phones: Open Dental keeps one wireless, one home and one work number")
        columns[free] = phone.number
    return columns


def _digits(text: str) -> str:
    digits = "".join(c for c in text if c.isdigit())
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def patient_from_od(body: Mapping[str, Any]) -> Patient:
    _, reference = split_notes(_text(body.get(PATIENT_NOTES_FIELD)))
    status = body.get("PatStatus") or "Patient"
    if status not in _PATIENT_STATUS_IN:
        raise ValueError("unknown Open Dental PatStatus")
    return Patient(
        id=str(_num(body["PatNum"], "PatNum")),
        first_name=body["FName"],
        last_name=body["LName"],
        middle_name=_text(body.get("MiddleI")),
        preferred_name=_text(body.get("Preferred")),
        date_of_birth=parse_date(str(body.get("Birthdate") or "")),
        gender=_GENDER_IN.get(str(body.get("Gender") or "Unknown"), Gender.UNKNOWN),
        phones=_phones_in(body),
        email=_text(body.get("Email")),
        address=_address(body),
        status=_PATIENT_STATUS_IN[status],
        chart_number=_text(body.get("ChartNumber")),
        external_reference=reference,
    )


def patient_search_params(query: PatientSearchQuery) -> Json:
    """``GET /patients`` filters: names match by prefix (as the Patient Select window does), phones by digits,
    the birth date and e-mail exactly."""
    params: Json = {}
    if query.last_name:
        params["LName"] = query.last_name
    if query.first_name:
        params["FName"] = query.first_name
    if query.date_of_birth:
        params["Birthdate"] = format_date(query.date_of_birth)
    if query.email:
        params["Email"] = query.email
    if query.phone and (digits := _digits(query.phone)):
        params["Phone"] = digits
    return params


def _patient_fields(
    first_name: str | None,
    last_name: str | None,
    middle_name: str | None,
    preferred_name: str | None,
    date_of_birth: date | None,
    email: str | None,
) -> Json:
    pairs = {
        "FName": first_name,
        "LName": last_name,
        "MiddleI": middle_name,
        "Preferred": preferred_name,
        "Birthdate": format_date(date_of_birth) if date_of_birth else None,
        "Email": email,
    }
    return {k: v for k, v in pairs.items() if v is not None}


def patient_create_body(data: PatientCreateData, *, reference: str) -> Json:
    body = _patient_fields(
        data.first_name,
        data.last_name,
        data.middle_name,
        data.preferred_name,
        data.date_of_birth,
        data.email,
    )
    body.update(PatStatus="Patient", Gender=_GENDER_OUT[data.gender])
    if data.phones:
        body.update({k: v for k, v in _phones_body(data.phones).items() if v})
    if data.address is not None:
        body.update({k: v for k, v in _address_body(data.address).items() if v})
    if data.preferred_location_id not in (None, NO_CLINIC):
        body["ClinicNum"] = _id_out(data.preferred_location_id, "preferred_location_id")
    body[PATIENT_NOTES_FIELD] = tag_notes(None, reference)
    return body


def patient_update_body(current: Mapping[str, Any], updates: PatientUpdateData, *, reference: str) -> Json:
    """The partial ``PUT /patients/{id}`` body: given fields replace (phones and the address as a whole;
    ``""`` clears a column), plus the notes with the new marker. Omitted fields stay as they are."""
    body = _patient_fields(
        updates.first_name,
        updates.last_name,
        updates.middle_name,
        updates.preferred_name,
        updates.date_of_birth,
        updates.email,
    )
    if updates.gender is not None:
        body["Gender"] = _GENDER_OUT[updates.gender]
    if updates.phones is not None:
        body.update(_phones_body(updates.phones))
    if updates.address is not None:
        body.update(_address_body(updates.address))
    if updates.status is not None:
        body["PatStatus"] = _PATIENT_STATUS_OUT[updates.status]
    old_notes, _ = split_notes(_text(current.get(PATIENT_NOTES_FIELD)))
    body[PATIENT_NOTES_FIELD] = tag_notes(old_notes, reference)
    return body
