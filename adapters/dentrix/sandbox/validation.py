"""Write validation for patients and appointments: pure functions from a request body (and the current
record, for ``PUT``) to the record to store, or a :class:`FieldError` that names the field, never the value.

Rules shared by both resources:

- the body is a JSON object; ``id``, ``type`` and ``lastModified`` are read-only and ignored; any other
  field the resource does not have is rejected (``validation.UnknownField``);
- ``PUT`` replaces the fields present in the body and keeps the absent ones; an explicit ``null`` clears
  an optional field and is rejected for a required one;
- references are typed stubs ``{"id": "123", "type": "PatientV1"}`` (the id may also be a JSON number;
  ``type`` may be omitted but must match when present) and must name a record of the caller's organization
  (``validation.InvalidReference``, 400).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from adapters.dentrix.sandbox.filters import parse_instant
from adapters.dentrix.sandbox.seed import RESOURCE_TYPES, format_instant

__all__ = ["APPOINTMENT_FIELDS", "PATIENT_FIELDS", "FieldError", "validate_appointment", "validate_patient"]

Record = dict[str, Any]
Lookup = Callable[[str, str], Mapping[str, Any] | None]  # (resource, id) -> record of the caller's org
Validator = Callable[[str, Any, Lookup], Any]

READ_ONLY = frozenset({"id", "type", "lastModified"})
APPOINTMENT_STATUSES = (
    "UNCONFIRMED",
    "CONFIRMED",
    "HERE",
    "CHAIR",
    "COMPLETED",
    "CANCELLED",
    "MISSED",
    "BROKEN",
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_POSTAL = re.compile(r"^\d{5}(-\d{4})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+\-(). ]+$")


class FieldError(ValueError):
    def __init__(self, field: str, reason: str, errorcode: str = "validation.InvalidField") -> None:
        super().__init__(f"{field} {reason}")
        self.field = field
        self.errorcode = errorcode


def _text(max_len: int, *, blank_ok: bool = True) -> Validator:
    def check(field: str, value: Any, lookup: Lookup) -> str:
        if not isinstance(value, str):
            raise FieldError(field, "must be a string")
        if len(value) > max_len:
            raise FieldError(field, f"must be at most {max_len} characters")
        if not blank_ok and not value.strip():
            raise FieldError(field, "must not be blank")
        return value

    return check


def _enum(*allowed: str) -> Validator:
    def check(field: str, value: Any, lookup: Lookup) -> str:
        if value not in allowed:
            raise FieldError(field, f"must be one of {', '.join(allowed)}")
        return str(value)

    return check


def _matching(pattern: re.Pattern[str], what: str, *, upper: bool = False) -> Validator:
    def check(field: str, value: Any, lookup: Lookup) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise FieldError(field, f"must be {what}")
        return value.upper() if upper else value

    return check


def _birth_date(field: str, value: Any, lookup: Lookup) -> str:
    if not isinstance(value, str) or not _DATE.match(value):
        raise FieldError(field, "must be a date YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise FieldError(field, "must be a date YYYY-MM-DD") from None
    if parsed > datetime.now(UTC).date() or parsed.year < 1900:
        raise FieldError(field, "must be a past date after 1900")
    return value


def _instant(field: str, value: Any, lookup: Lookup) -> str:
    try:
        return format_instant(parse_instant(value if isinstance(value, str) else ""))
    except ValueError:
        raise FieldError(
            field, "must be an ISO-8601 date-time with a zone (e.g. 2026-03-02T15:00:00Z)"
        ) from None


def _minutes(field: str, value: Any, lookup: Lookup) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 24 * 60:
        raise FieldError(field, "must be a whole number of minutes from 1 to 1440")
    return value


def _phones(field: str, value: Any, lookup: Lookup) -> list[Record]:
    if not isinstance(value, list) or len(value) > 5:
        raise FieldError(field, "must be a list of at most 5 phones")
    phones = []
    for item in value:
        number = item.get("number") if isinstance(item, dict) else None
        digits = sum(c.isdigit() for c in number) if isinstance(number, str) else 0
        if not isinstance(number, str) or not _PHONE.match(number) or not 7 <= digits <= 15:
            raise FieldError(f"{field}.number", "must be a phone number of 7 to 15 digits")
        if set(item) - {"number", "type"}:
            raise FieldError(field, "items have only number and type", "validation.UnknownField")
        kind = item.get("type")
        if kind is not None and kind not in ("MOBILE", "HOME", "WORK", "OTHER"):
            raise FieldError(f"{field}.type", "must be one of MOBILE, HOME, WORK, OTHER")
        phones.append({"number": number.strip(), "type": kind or "OTHER"})
    return phones


def _ref(resource: str) -> Validator:
    expected = RESOURCE_TYPES[resource]

    def check(field: str, value: Any, lookup: Lookup) -> Record:
        raw = value.get("id") if isinstance(value, dict) else None
        if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
            raise FieldError(field, f'must be a reference {{"id": ..., "type": "{expected}"}}')
        if value.get("type", expected) != expected:
            raise FieldError(field, f"must reference a {expected}")
        ref_id = str(int(raw))
        if lookup(resource, ref_id) is None:
            raise FieldError(
                field, f"refers to no {expected} of this organization", "validation.InvalidReference"
            )
        return {"id": ref_id, "type": expected}

    return check


# field -> (validator, required)
PATIENT_FIELDS: dict[str, tuple[Validator, bool]] = {
    "firstName": (_text(50, blank_ok=False), True),
    "lastName": (_text(50, blank_ok=False), True),
    "middleName": (_text(50), False),
    "preferredName": (_text(50), False),
    "dateOfBirth": (_birth_date, True),
    "gender": (_enum("M", "F", "O"), False),
    "patientStatus": (_enum("NEW", "ACTIVE", "INACTIVE", "NON-PATIENT"), True),
    "chartNumber": (_text(20, blank_ok=False), False),
    "address1": (_text(100), False),
    "address2": (_text(100), False),
    "city": (_text(50), False),
    "state": (_matching(re.compile(r"^[A-Za-z]{2}$"), "2 letters", upper=True), False),
    "postalCode": (_matching(_POSTAL, "a ZIP code (12345 or 12345-6789)"), False),
    "contactMethod": (_enum("CALL ME", "TEXT ME", "EMAIL ME"), False),
    "languageType": (_text(30), False),
    "preferredLocation": (_ref("locations"), False),
    "phones": (_phones, False),
    "emailAddress": (_matching(_EMAIL, "an e-mail address"), False),
    "notes": (_text(2000), False),
}

APPOINTMENT_FIELDS: dict[str, tuple[Validator, bool]] = {
    "title": (_text(100), False),
    "start": (_instant, True),
    "end": (_instant, False),
    "duration": (_minutes, False),
    "status": (_enum(*APPOINTMENT_STATUSES), True),
    "patient": (_ref("patients"), True),
    "provider": (_ref("providers"), False),
    "operatory": (_ref("operatories"), True),
    "location": (_ref("locations"), False),
    "other": (_text(2000), False),
}


def _merge(
    body: Any, current: Mapping[str, Any] | None, schema: Mapping[str, tuple[Validator, bool]], lookup: Lookup
) -> Record:
    if not isinstance(body, dict):
        raise FieldError("body", "must be a JSON object", "validation.MalformedBody")
    for key in body:
        if key not in schema and key not in READ_ONLY:
            raise FieldError(key, "is not a field of this resource", "validation.UnknownField")
    merged: Record = {k: v for k, v in (current or {}).items() if k in schema}
    for key, value in body.items():
        if key in schema:
            merged[key] = None if value is None else schema[key][0](key, value, lookup)
    for key, (_, required) in schema.items():
        if required and merged.get(key) is None:
            raise FieldError(key, "is required", "validation.MissingField")
    return merged


def validate_patient(body: Any, current: Mapping[str, Any] | None, lookup: Lookup) -> Record:
    """The patient to store (without ``id``, ``type``, ``lastModified``). ``chartNumber`` may stay None:
    the store assigns one."""
    if current is None and isinstance(body, dict) and body.get("patientStatus") is None:
        body = {**body, "patientStatus": "NEW"}
    merged = _merge(body, current, PATIENT_FIELDS, lookup)
    return {key: merged.get(key) for key in PATIENT_FIELDS}


def validate_appointment(body: Any, current: Mapping[str, Any] | None, lookup: Lookup) -> Record:
    """The appointment to store. ``end``/``duration``: when ``end`` is given, ``duration`` is computed (and
    must agree if given too); a ``duration`` alone sets ``end``; moving ``start`` alone keeps the duration.
    ``location`` is the operatory's location."""
    if current is None and isinstance(body, dict) and body.get("status") is None:
        body = {**body, "status": "UNCONFIRMED"}
    merged = _merge(body, current, APPOINTMENT_FIELDS, lookup)
    _set_times(merged, body, current)
    operatory = lookup("operatories", merged["operatory"]["id"])
    assert operatory is not None  # _merge checked the reference
    moved = current is None or current["operatory"]["id"] != merged["operatory"]["id"]
    if moved and not operatory["active"]:
        raise FieldError("operatory", "is inactive", "validation.InactiveOperatory")
    _check_location(merged, body, current, operatory)
    merged["location"] = dict(operatory["location"])
    return {key: merged.get(key) for key in APPOINTMENT_FIELDS}


def _set_times(merged: Record, body: Mapping[str, Any], current: Mapping[str, Any] | None) -> None:
    start = parse_instant(merged["start"])
    if body.get("end") is not None:
        end = parse_instant(merged["end"])
        if body.get("duration") is not None and body["duration"] != _span(start, end):
            raise FieldError("duration", "does not match start and end")
    elif body.get("duration") is not None:
        end = start + timedelta(minutes=merged["duration"])
    elif current is not None:
        end = start + timedelta(minutes=int(current["duration"]))
    else:
        raise FieldError("end", "is required (or duration)", "validation.MissingField")
    if end <= start:
        raise FieldError("end", "must be after start")
    merged["end"], merged["duration"] = format_instant(end), _span(start, end)


def _span(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


def _check_location(
    merged: Mapping[str, Any],
    body: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    operatory: Mapping[str, Any],
) -> None:
    given = body.get("location")
    if given is None:
        return
    given_id = merged["location"]["id"] if merged.get("location") else None
    echoed = current is not None and current.get("location", {}).get("id") == given_id
    if given_id != operatory["location"]["id"] and not echoed:
        raise FieldError("location", "does not match the operatory's location")
