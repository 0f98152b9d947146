"""Checks of a write body: pure functions from the JSON body (the current row, for ``PUT``, and the ids the
office has) to the fields the write sets, or a :class:`FieldError` whose explanation names the field, never
the value. ``PUT`` is partial: fields present replace, omitted fields stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from adapters.opendental.sandbox.filters import APPOINTMENT_STATUSES, PATIENT_STATUSES
from adapters.opendental.sandbox.wire import (
    EMPTY_DATE,
    EMPTY_DATETIME,
    is_bool_text,
    parse_date,
    parse_datetime,
)

__all__ = [
    "APPOINTMENT_FIELDS",
    "PATIENT_FIELDS",
    "FieldError",
    "References",
    "validate_appointment",
    "validate_break",
    "validate_confirm",
    "validate_patient",
]

Check = Callable[[str, Any, "References"], Any]
CONFIRM_VALUES = ("None", "Sent", "Confirmed", "Not Accepted", "Failed")
BREAK_TYPES = ("Missed", "Cancelled")
MAX_PATTERN = (
    108  # nine hours of five-minute steps: the longest appointment the Edit Appointment window takes
)


class FieldError(ValueError):
    """A 400 of Open Dental: ``str(error)`` is the plain-text explanation."""


@dataclass(frozen=True)
class References:
    """The ids a write may name, in the office being written to."""

    patients: frozenset[int] = frozenset()
    operatories: frozenset[int] = frozenset()
    hidden_operatories: frozenset[int] = frozenset()
    providers: frozenset[int] = frozenset()
    clinics: frozenset[int] = frozenset()
    appointment_types: frozenset[int] = frozenset()
    confirmations: frozenset[int] = frozenset()


def _text(max_len: int, *, blank_ok: bool = True) -> Check:
    def check(field: str, value: Any, refs: References) -> str:
        if not isinstance(value, str) or len(value) > max_len:
            raise FieldError(f"{field} must be text of at most {max_len} characters.")
        if not blank_ok and not value.strip():
            raise FieldError(f"{field} is required and cannot be blank.")
        return value

    return check


def _one_of(*allowed: str) -> Check:
    def check(field: str, value: Any, refs: References) -> str:
        if value not in allowed:
            raise FieldError(f"{field} must be one of: {', '.join(allowed)}.")
        return str(value)

    return check


def _bool(field: str, value: Any, refs: References) -> str:
    if not is_bool_text(value):
        raise FieldError(f'{field} must be either "true" or "false".')
    return str(value)


def _ref(kind: str, *, none_ok: bool) -> Check:
    def check(field: str, value: Any, refs: References) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            raise FieldError(f"{field} must be a number.")
        number = int(value)
        if (number == 0 and none_ok) or number in getattr(refs, kind):
            return number
        raise FieldError(f"{field} is invalid.")

    return check


def _operatory(field: str, value: Any, refs: References) -> int:
    number = int(_ref("operatories", none_ok=False)(field, value, refs))
    if number in refs.hidden_operatories:
        raise FieldError(f"{field} is a hidden operatory.")
    return number


def _phone(field: str, value: Any, refs: References) -> str:
    if not isinstance(value, str) or len(value) > 30:
        raise FieldError(f"{field} must be text of at most 30 characters.")
    digits = "".join(c for c in value if c.isdigit())
    if value and (not re.fullmatch(r"[0-9+\-(). ]+", value) or not 7 <= len(digits) <= 15):
        raise FieldError(f"{field} is not a valid phone number.")
    return value


def _email(field: str, value: Any, refs: References) -> str:
    if not isinstance(value, str) or (value and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value)):
        raise FieldError(f"{field} is not a valid email address.")
    return value


def _birthdate(field: str, value: Any, refs: References) -> str:
    try:
        day = parse_date(value)
    except ValueError:
        raise FieldError(f"{field} is not a valid date. Use the format yyyy-MM-dd.") from None
    if value != EMPTY_DATE and not date(1880, 1, 1) <= day <= date.today():
        raise FieldError(f"{field} must be a date in the past.")
    return str(value)


def _datetime(*, empty_ok: bool) -> Check:
    def check(field: str, value: Any, refs: References) -> str:
        try:
            parse_datetime(value)
        except ValueError:
            raise FieldError(
                f"{field} is not a valid date and time. Use the format yyyy-MM-dd HH:mm:ss."
            ) from None
        if value == EMPTY_DATETIME and not empty_ok:
            raise FieldError(f"{field} is required.")
        return str(value)

    return check


def _pattern(field: str, value: Any, refs: References) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_PATTERN or set(value) - {"X", "/"}:
        raise FieldError(f"{field} must be 1 to {MAX_PATTERN} characters of X and /, one per five minutes.")
    return value


def _apt_status(field: str, value: Any, refs: References) -> str:
    if value == "Broken":
        raise FieldError("AptStatus cannot be set to Broken. Use Appointments PUT Break.")
    return str(_one_of(*(s for s in APPOINTMENT_STATUSES if s != "Broken"))(field, value, refs))


# field -> (check, required on create, default on create)
PATIENT_FIELDS: dict[str, tuple[Check, bool, Any]] = {
    "LName": (_text(100, blank_ok=False), True, None),
    "FName": (_text(100, blank_ok=False), True, None),
    "MiddleI": (_text(100), False, ""),
    "Preferred": (_text(100), False, ""),
    "PatStatus": (_one_of(*PATIENT_STATUSES), False, "Patient"),
    "Gender": (_one_of("Male", "Female", "Unknown", "Other"), False, "Unknown"),
    "Birthdate": (_birthdate, False, EMPTY_DATE),
    "Address": (_text(100), False, ""),
    "Address2": (_text(100), False, ""),
    "City": (_text(100), False, ""),
    "State": (_text(100), False, ""),
    "Zip": (_text(100), False, ""),
    "HmPhone": (_phone, False, ""),
    "WkPhone": (_phone, False, ""),
    "WirelessPhone": (_phone, False, ""),
    "Email": (_email, False, ""),
    "ChartNumber": (_text(20), False, ""),
    "ClinicNum": (_ref("clinics", none_ok=True), False, 0),
    "PriProv": (_ref("providers", none_ok=True), False, 0),
    "TxtMsgOk": (_one_of("Unknown", "Yes", "No"), False, "Unknown"),
    "AddrNote": (_text(4000), False, ""),
}
APPOINTMENT_FIELDS: dict[str, tuple[Check, bool, Any]] = {
    "PatNum": (_ref("patients", none_ok=False), True, None),
    "Op": (_operatory, True, None),
    "AptDateTime": (_datetime(empty_ok=False), True, None),
    "AptStatus": (_apt_status, False, "Scheduled"),
    "Pattern": (_pattern, False, "//XXXX//"),
    "Confirmed": (_ref("confirmations", none_ok=False), False, None),
    "Note": (_text(10000), False, ""),
    "ProvNum": (_ref("providers", none_ok=True), False, 0),
    "ProvHyg": (_ref("providers", none_ok=True), False, 0),
    "ClinicNum": (_ref("clinics", none_ok=True), False, None),
    "IsHygiene": (_bool, False, "false"),
    "IsNewPatient": (_bool, False, "false"),
    "Priority": (_one_of("Normal", "ASAP"), False, "Normal"),
    "AppointmentTypeNum": (_ref("appointment_types", none_ok=True), False, 0),
    "DateTimeArrived": (_datetime(empty_ok=True), False, EMPTY_DATETIME),
    "DateTimeSeated": (_datetime(empty_ok=True), False, EMPTY_DATETIME),
    "DateTimeDismissed": (_datetime(empty_ok=True), False, EMPTY_DATETIME),
    "DateTimeAskedToArrive": (_datetime(empty_ok=True), False, EMPTY_DATETIME),
}


def _changes(
    body: Any,
    creating: bool,
    schema: Mapping[str, tuple[Check, bool, Any]],
    refs: References,
) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise FieldError("The body must be a JSON object.")
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key not in schema:
            raise FieldError(f"{key} is not a field that can be set.")
        changes[key] = schema[key][0](key, value, refs)
    if creating:
        missing = [key for key, (_, required, _) in schema.items() if required and key not in changes]
        if missing:
            raise FieldError(f"{missing[0]} is required.")
        changes = {key: changes.get(key, default) for key, (_, _, default) in schema.items()}
    return changes


def validate_patient(body: Any, current: Mapping[str, Any] | None, refs: References) -> dict[str, Any]:
    """A create's whole row (defaults filled) or an update's changed fields."""
    return _changes(body, current is None, PATIENT_FIELDS, refs)


def validate_appointment(body: Any, current: Mapping[str, Any] | None, refs: References) -> dict[str, Any]:
    """A create's whole row (defaults filled; ``Confirmed`` and ``ClinicNum`` left None for the office to
    fill) or an update's changed fields."""
    return _changes(body, current is None, APPOINTMENT_FIELDS, refs)


def validate_confirm(body: Any, refs: References) -> tuple[str | None, int | None]:
    """``(confirmVal, defNum)`` of a ``PUT .../Confirm`` body: exactly one of the two."""
    if not isinstance(body, dict) or len(body) != 1 or not set(body) <= {"confirmVal", "defNum"}:
        raise FieldError("The body must hold exactly one field: confirmVal or defNum.")
    if "confirmVal" in body:
        return _one_of(*CONFIRM_VALUES)("confirmVal", body["confirmVal"], refs), None
    return None, _ref("confirmations", none_ok=False)("defNum", body["defNum"], refs)


def validate_break(body: Any, refs: References) -> str:
    """The ``breakType`` of a ``PUT .../Break`` body."""
    if not isinstance(body, dict) or set(body) - {"breakType"} or "breakType" not in body:
        raise FieldError("breakType is required.")
    return str(_one_of(*BREAK_TYPES)("breakType", body["breakType"], refs))
