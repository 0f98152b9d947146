"""Synchronous checks of a write body: pure functions from the JSON body (and the current row, for ``PUT``)
to the fields the write will set, or a :class:`FieldError` that names the field, never the value.

What needs the database (does the patient exist? is the chair hidden?) is checked later, when the
asynchronous write resolves (:meth:`adapters.eaglesoft.sandbox.store.Store.apply`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from adapters.eaglesoft.sandbox.wire import format_time, parse_date, parse_time

__all__ = ["APPOINTMENT_FIELDS", "PATIENT_FIELDS", "FieldError", "validate_appointment", "validate_patient"]

Check = Callable[[str, Any], Any]


class FieldError(ValueError):
    def __init__(self, field: str, reason: str, error_code: str = "ValidationFailed") -> None:
        super().__init__(f"{field} {reason}")
        self.field = field
        self.error_code = error_code


def _text(max_len: int, *, blank_ok: bool = True) -> Check:
    def check(field: str, value: Any) -> str:
        if not isinstance(value, str) or len(value) > max_len:
            raise FieldError(field, f"must be a string of at most {max_len} characters")
        if not blank_ok and not value.strip():
            raise FieldError(field, "must not be blank")
        return value

    return check


def _one_of(*allowed: Any) -> Check:
    def check(field: str, value: Any) -> Any:
        if isinstance(value, bool) or value not in allowed:
            raise FieldError(field, f"must be one of {', '.join(map(str, allowed))}")
        return value

    return check


def _pattern(regex: str, what: str, *, upper: bool = False) -> Check:
    compiled = re.compile(regex)

    def check(field: str, value: Any) -> str:
        if not isinstance(value, str) or not compiled.match(value):
            raise FieldError(field, f"must be {what}")
        return value.upper() if upper else value

    return check


def _phone(field: str, value: Any) -> str:
    digits = "".join(c for c in value if c.isdigit()) if isinstance(value, str) else ""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9+\-(). ]+", value) or not 7 <= len(digits) <= 15:
        raise FieldError(field, "must be a phone number of 7 to 15 digits")
    return digits  # Eaglesoft stores digits only


def _birth_date(field: str, value: Any) -> str:
    try:
        parsed = parse_date(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.year < 1900 or parsed > date.today():
        raise FieldError(field, "must be a past date YYYY-MM-DD after 1900")
    return parsed.isoformat()


def _time(field: str, value: Any) -> str:
    try:
        return format_time(parse_time(value if isinstance(value, str) else ""))
    except ValueError:
        raise FieldError(field, "must be an office-local time YYYY-MM-DDTHH:MM:SS without offset") from None


def _int(low: int, high: int) -> Check:
    def check(field: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise FieldError(field, f"must be an integer from {low} to {high}")
        return value

    return check


def _patient_ref(field: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise FieldError(field, "must be a patient id (digits)")
    return str(int(value))


def _providers(field: str, value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or len(value) > 5:
        raise FieldError(field, "must be a list of at most 5 providers")
    rows = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"ProviderId", "Primary"}:
            raise FieldError(field, "items are {ProviderId, Primary}")
        code, primary = item.get("ProviderId"), item.get("Primary", "N")
        if not isinstance(code, str) or not 1 <= len(code) <= 10:
            raise FieldError(f"{field}.ProviderId", "must be a provider code of 1 to 10 characters")
        if primary not in ("Y", "N"):
            raise FieldError(f"{field}.Primary", "must be Y or N")
        rows.append({"ProviderId": code, "Primary": primary})
    if sum(row["Primary"] == "Y" for row in rows) > 1:
        raise FieldError(field, "may have one primary provider only")
    return rows


_YN = _one_of("Y", "N")

# field -> (check, required on create, default on create)
PATIENT_FIELDS: dict[str, tuple[Check, bool, Any]] = {
    "FirstName": (_text(50, blank_ok=False), True, None),
    "LastName": (_text(50, blank_ok=False), True, None),
    "MiddleInitial": (_pattern(r"^[A-Za-z]$", "one letter", upper=True), False, None),
    "PreferredName": (_text(50), False, None),
    "BirthDate": (_birth_date, False, None),
    "Sex": (_one_of("M", "F"), False, None),
    "Status": (_one_of("A", "I"), False, "A"),
    "PatientStatus": (_YN, False, "Y"),
    "CellPhone": (_phone, False, None),
    "HomePhone": (_phone, False, None),
    "WorkPhone": (_phone, False, None),
    "EmailAddress": (_pattern(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "an e-mail address"), False, None),
    "Address1": (_text(100), False, None),
    "Address2": (_text(100), False, None),
    "City": (_text(50), False, None),
    "State": (_pattern(r"^[A-Za-z]{2}$", "2 letters", upper=True), False, None),
    "Zipcode": (_pattern(r"^\d{5}(-\d{4})?$", "a ZIP code (12345 or 12345-6789)"), False, None),
    "ReceivesSms": (_YN, False, "N"),
    "PatientNotes": (_text(4000), False, None),
}
APPOINTMENT_FIELDS: dict[str, tuple[Check, bool, Any]] = {
    "PatientId": (_patient_ref, False, None),
    "LocationId": (_int(1, 1_000_000), True, None),
    "StartTime": (_time, True, None),
    "EndTime": (_time, True, None),
    "Classification": (_one_of(1, 2), False, 1),
    "AppointmentTypeId": (_int(1, 1_000_000), False, None),
    "Description": (_text(100), False, None),
    "AppointmentNotes": (_text(4000), False, None),
    "DateConfirmed": (_time, False, None),
    "ConfirmationStatus": (_int(0, 3), False, 0),
    "AppointmentArrivalStatus": (_int(0, 5), False, 0),
    "ArrivalTime": (_time, False, None),
    "InchairTime": (_time, False, None),
    "WalkoutTime": (_time, False, None),
    "SoonerIfPossible": (_YN, False, "N"),
    "Providers": (_providers, False, []),
}
_READ_ONLY = {
    "patients": frozenset({"PatientId", "PracticeId", "DateModified"}),
    "appointments": frozenset({"AppointmentId", "PracticeId", "DateModified", "DateAppointed"}),
}


def _changes(
    body: Any,
    current: Mapping[str, Any] | None,
    schema: Mapping[str, tuple[Check, bool, Any]],
    read_only: frozenset[str],
    practice_id: int,
) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise FieldError("body", "must be a JSON object")
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key == "PracticeId" and value == practice_id:
            continue  # an echo of the header
        if key in read_only and current is not None and key in current and current[key] == value:
            continue  # an echo of the row
        if key not in schema:
            reason = "is read-only" if key in read_only else "is not a field of this resource"
            raise FieldError(key, reason, "UnknownField")
        check, required, _ = schema[key]
        if value is None and (required or key == "Providers"):
            raise FieldError(key, "must not be null")
        changes[key] = None if value is None else check(key, value)
    if current is None:
        changes = {key: changes.get(key, default) for key, (_, _, default) in schema.items()}
        missing = [key for key, (_, required, _) in schema.items() if required and changes[key] is None]
        if missing:
            raise FieldError(missing[0], "is required")
    return changes


def validate_patient(body: Any, current: Mapping[str, Any] | None, practice_id: int) -> dict[str, Any]:
    """A create's whole row (defaults filled) or an update's changed fields."""
    return _changes(body, current, PATIENT_FIELDS, _READ_ONLY["patients"], practice_id)


def validate_appointment(body: Any, current: Mapping[str, Any] | None, practice_id: int) -> dict[str, Any]:
    """A create's whole row (defaults filled) or an update's changed fields; checks the merged row's
    times and that a patient appointment has a patient (a block has none)."""
    changes = _changes(body, current, APPOINTMENT_FIELDS, _READ_ONLY["appointments"], practice_id)
    merged = {**(current or {}), **changes}
    if merged["EndTime"] <= merged["StartTime"]:  # same fixed-width format: text order is time order
        raise FieldError("EndTime", "must be after StartTime")
    if merged.get("Classification") == 1 and merged.get("PatientId") is None:
        raise FieldError("PatientId", "is required for a patient appointment (Classification 1)")
    if merged.get("Classification") == 2 and merged.get("PatientId") is not None:
        raise FieldError("PatientId", "must be null on a schedule block (Classification 2)")
    return changes
