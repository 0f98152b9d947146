"""Eaglesoft's office-local naive times: its wire format, over the shared daylight-saving policy.

Eaglesoft stores ``StartTime``/``EndTime`` (and every other time) as wall-clock time in the office, with no
offset. The practice's IANA zone (:attr:`EaglesoftConfig.time_zone`) turns them into instants, by the policy
of :mod:`adapters.localtime` (a reading in a spring-forward gap is a data error, one in the repeated
fall-back hour is the earlier instant, and an instant in the second pass is refused when writing), re-exported
here so that this folder names one module for its times. Round trips through the PMS are always exact.

Pure functions, no I/O.
"""

from __future__ import annotations

from datetime import datetime

from adapters.localtime import (
    AmbiguousLocalTime,
    LocalTimeKind,
    NonexistentLocalTime,
    classify,
    require_naive,
    to_local,
    to_utc,
)

__all__ = [
    "WIRE_FORMAT",
    "AmbiguousLocalTime",
    "LocalTimeKind",
    "NonexistentLocalTime",
    "classify",
    "format_local",
    "parse_local",
    "to_local",
    "to_utc",
]

# How Eaglesoft writes a naive time: ISO-8601 without offset, second precision.
WIRE_FORMAT = "%Y-%m-%dT%H:%M:%S"


def parse_local(text: str) -> datetime:
    """A naive Eaglesoft time (``2026-03-08T09:00:00``); a value with an offset is a dialect error."""
    value = datetime.fromisoformat(text)
    require_naive(value)
    return value


def format_local(local: datetime) -> str:
    """A naive office-local time as Eaglesoft writes it."""
    require_naive(local)
    return local.strftime(WIRE_FORMAT)
