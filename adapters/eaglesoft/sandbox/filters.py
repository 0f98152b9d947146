"""List filters of ``/patients`` and ``/appointments``: pure functions from query parameters to a predicate.

Unknown parameters and malformed values raise :class:`FilterError`, whose message names the parameter only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from adapters.eaglesoft.sandbox.wire import format_time, parse_date, parse_window_bound

__all__ = ["PAGING_PARAMS", "FilterError", "appointment_filter", "patient_filter", "reject_unknown"]

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]
PAGING_PARAMS = frozenset({"PageNumber", "PageSize"})
_PHONES = ("CellPhone", "HomePhone", "WorkPhone")


class FilterError(ValueError):
    """A query parameter that is unknown or malformed; the message names it, never its value."""


def reject_unknown(params: Mapping[str, str], allowed: frozenset[str]) -> None:
    for name in params:
        if name not in allowed and name not in PAGING_PARAMS:
            raise FilterError(f"{name} is not a parameter of this list")


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _folded(record: Record, key: str) -> str:
    return str(record.get(key) or "").casefold()


def _patient_test(name: str, value: str) -> Predicate:
    wanted = value.casefold()
    if name in ("LastName", "FirstName"):
        return lambda r: _folded(r, name).startswith(wanted)
    if name == "BirthDate":
        try:
            day = parse_date(value).isoformat()
        except ValueError:
            raise FilterError("BirthDate must be a date YYYY-MM-DD") from None
        return lambda r: r.get("BirthDate") == day
    if name == "Phone":
        digits = _digits(value)
        if not digits:
            raise FilterError("Phone must hold digits")
        return lambda r: any(_digits(str(r.get(k) or "")) == digits for k in _PHONES)
    if name == "EmailAddress":
        return lambda r: _folded(r, name) == wanted
    if name == "Status":
        if value not in ("A", "I"):
            raise FilterError("Status must be A or I")
        return lambda r: r.get("Status") == value
    return lambda r: wanted in _folded(r, "PatientNotes")  # NotesContains


PATIENT_PARAMS = frozenset(
    {"LastName", "FirstName", "BirthDate", "Phone", "EmailAddress", "Status", "NotesContains"}
)
APPOINTMENT_PARAMS = frozenset(
    {"StartDate", "EndDate", "LocationId", "PatientId", "Classification", "NotesContains"}
)


def patient_filter(params: Mapping[str, str]) -> Predicate:
    reject_unknown(params, PATIENT_PARAMS)
    tests = [_patient_test(name, value) for name, value in params.items() if name in PATIENT_PARAMS]
    return lambda record: all(test(record) for test in tests)


def _window(params: Mapping[str, str]) -> list[Predicate]:
    tests: list[Predicate] = []
    for name, is_end in (("StartDate", False), ("EndDate", True)):
        if name not in params:
            continue
        try:
            bound = format_time(parse_window_bound(params[name], end=is_end))
        except ValueError:
            raise FilterError(f"{name} must be a date or a naive date-time YYYY-MM-DDTHH:MM:SS") from None
        # Fixed-width naive times: text order is time order. Overlap: ends after start, starts before end.
        tests.append(_starts_before(bound) if is_end else _ends_after(bound))
    return tests


def _starts_before(bound: str) -> Predicate:
    return lambda record: str(record["StartTime"]) < bound


def _ends_after(bound: str) -> Predicate:
    return lambda record: str(record["EndTime"]) > bound


def _integer(params: Mapping[str, str], name: str) -> int | None:
    if name not in params:
        return None
    if not params[name].isdigit():
        raise FilterError(f"{name} must be an integer")
    return int(params[name])


def appointment_filter(params: Mapping[str, str]) -> Predicate:
    reject_unknown(params, APPOINTMENT_PARAMS)
    tests = _window(params)
    chair, patient, classification = (
        _integer(params, n) for n in ("LocationId", "PatientId", "Classification")
    )
    if chair is not None:
        tests.append(lambda r: r["LocationId"] == chair)
    if patient is not None:
        tests.append(lambda r: r.get("PatientId") == str(patient))
    if classification is not None:
        tests.append(lambda r: r["Classification"] == classification)
    if "NotesContains" in params:
        wanted = params["NotesContains"].casefold()
        tests.append(lambda r: wanted in _folded(r, "AppointmentNotes"))
    return lambda record: all(test(record) for test in tests)
