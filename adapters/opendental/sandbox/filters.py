"""List filters of the sandbox's resources: pure functions from query parameters to a predicate.

Every list takes ``Limit`` and ``Offset`` (:mod:`.paging`); anything else it does not know, and any malformed
value, raises :class:`FilterError`, whose message names the parameter (never its value), as Open Dental's
plain-text explanations do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from adapters.opendental.sandbox.paging import PAGING_PARAMS
from adapters.opendental.sandbox.wire import format_date, format_datetime, parse_date, parse_stamp

__all__ = [
    "APPOINTMENT_STATUSES",
    "FilterError",
    "appointment_filter",
    "operatory_filter",
    "patient_filter",
    "preference_filter",
    "reject_unknown",
    "simple_patient_filter",
]

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]
APPOINTMENT_STATUSES = (
    "Scheduled", "Complete", "UnschedList", "ASAP", "Broken", "Planned", "PtNote", "PtNoteCompleted",
)  # fmt: skip
PATIENT_STATUSES = ("Patient", "NonPatient", "Inactive", "Archived", "Deceased", "Prospective")
_PHONES = ("HmPhone", "WkPhone", "WirelessPhone")


class FilterError(ValueError):
    """A query parameter that is unknown or malformed; the message names it, never its value."""


def reject_unknown(params: Mapping[str, str], allowed: frozenset[str]) -> None:
    for name in params:
        if name not in allowed and name not in PAGING_PARAMS:
            raise FilterError(f"{name} is not a valid parameter for this method.")


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _folded(record: Record, key: str) -> str:
    return str(record.get(key) or "").casefold()


def _day(params: Mapping[str, str], name: str) -> str:
    try:
        return format_date(parse_date(params[name]))
    except ValueError:
        raise FilterError(f"{name} is not a valid date. Use the format yyyy-MM-dd.") from None


def _stamp(params: Mapping[str, str]) -> Predicate:
    try:
        since = format_datetime(parse_stamp(params["DateTStamp"]))
    except ValueError:
        raise FilterError("DateTStamp is not a valid date. Use the format yyyy-MM-dd HH:mm:ss.") from None
    # Fixed-width naive times: text order is time order.
    return lambda r: str(r.get("DateTStamp", "")) >= since


def _number(params: Mapping[str, str], name: str) -> int:
    if not params[name].isdigit():
        raise FilterError(f"{name} must be a number.")
    return int(params[name])


def _one_of(params: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    if params[name] not in allowed:
        raise FilterError(f"{name} must be one of: {', '.join(allowed)}.")
    return params[name]


def _prefix(name: str, wanted: str) -> Predicate:
    return lambda record: _folded(record, name).startswith(wanted)


def _equals(name: str, value: object) -> Predicate:
    return lambda record: record.get(name) == value


def _patient_tests(params: Mapping[str, str]) -> list[Predicate]:
    tests: list[Predicate] = []
    for name in ("LName", "FName"):
        if name in params:
            wanted = params[name].casefold()
            tests.append(_prefix(name, wanted))
    if "Birthdate" in params:
        day = _day(params, "Birthdate")
        tests.append(lambda r: r.get("Birthdate") == day)
    if "PatStatus" in params:
        status = _one_of(params, "PatStatus", PATIENT_STATUSES)
        tests.append(lambda r: r.get("PatStatus") == status)
    if "ClinicNum" in params:
        clinic = _number(params, "ClinicNum")
        tests.append(lambda r: r.get("ClinicNum") == clinic)
    return tests


def patient_filter(params: Mapping[str, str]) -> Predicate:
    """``GET /patients``: ``LName``, ``FName`` (case-insensitive prefix, as the Patient Select window),
    ``Birthdate``, ``Phone`` (digits, within any of the three phones), ``Email`` (case-insensitive), ``PatStatus``,
    ``ClinicNum``."""
    reject_unknown(
        params, frozenset({"LName", "FName", "Birthdate", "Phone", "Email", "PatStatus", "ClinicNum"})
    )
    tests = _patient_tests(params)
    if "Phone" in params:
        digits = _digits(params["Phone"])
        if not digits:
            raise FilterError("Phone must contain digits.")
        tests.append(lambda r: any(digits in _digits(str(r.get(k) or "")) for k in _PHONES))
    if "Email" in params:
        email = params["Email"].casefold()
        tests.append(lambda r: _folded(r, "Email") == email)
    return lambda record: all(test(record) for test in tests)


def simple_patient_filter(params: Mapping[str, str]) -> Predicate:
    """``GET /patients/Simple``: ``LName``, ``FName``, ``Birthdate``, ``PatStatus``, ``ClinicNum``, and
    ``DateTStamp`` (changed at or after)."""
    reject_unknown(params, frozenset({"LName", "FName", "Birthdate", "PatStatus", "ClinicNum", "DateTStamp"}))
    tests = _patient_tests(params)
    if "DateTStamp" in params:
        tests.append(_stamp(params))
    return lambda record: all(test(record) for test in tests)


def appointment_filter(params: Mapping[str, str]) -> Predicate:
    """``GET /appointments``: ``PatNum``, ``AptStatus``, ``Op``, ``ClinicNum``, ``DateTStamp``, and the day of
    ``AptDateTime``: ``date`` (one day) or ``dateStart``/``dateEnd`` (inclusive)."""
    allowed = {"PatNum", "AptStatus", "Op", "date", "dateStart", "dateEnd", "ClinicNum", "DateTStamp"}
    reject_unknown(params, frozenset(allowed))
    tests: list[Predicate] = []
    for name in ("PatNum", "Op", "ClinicNum"):
        if name in params:
            number = _number(params, name)
            tests.append(_equals(name, number))
    if "AptStatus" in params:
        status = _one_of(params, "AptStatus", APPOINTMENT_STATUSES)
        tests.append(lambda r: r.get("AptStatus") == status)
    if "date" in params:
        day = _day(params, "date")
        tests.append(lambda r: str(r["AptDateTime"])[:10] == day)
    if "dateStart" in params:
        first = _day(params, "dateStart")
        tests.append(lambda r: str(r["AptDateTime"])[:10] >= first)
    if "dateEnd" in params:
        last = _day(params, "dateEnd")
        tests.append(lambda r: str(r["AptDateTime"])[:10] <= last)
    if "DateTStamp" in params:
        tests.append(_stamp(params))
    return lambda record: all(test(record) for test in tests)


def operatory_filter(params: Mapping[str, str]) -> Predicate:
    reject_unknown(params, frozenset({"ClinicNum"}))
    if "ClinicNum" not in params:
        return lambda record: True
    clinic = _number(params, "ClinicNum")
    return lambda record: record.get("ClinicNum") == clinic


def preference_filter(params: Mapping[str, str]) -> Predicate:
    reject_unknown(params, frozenset({"PrefName"}))
    name = params.get("PrefName")
    return lambda record: name is None or record.get("PrefName") == name
