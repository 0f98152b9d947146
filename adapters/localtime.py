"""Office-local naive times <-> UTC instants, with daylight-saving edges handled explicitly.

Some PMSs (Eaglesoft, Open Dental) store every time as a wall-clock reading in the office, with no offset; the
practice's IANA zone turns a reading into an instant. Twice a year a reading is not one instant:

- **Gap** (spring forward, e.g. 02:30 on the US March change): the reading never happened. *Reading* one
  from the PMS raises :class:`NonexistentLocalTime`, a data error: moving it an hour either way would be a
  silent shift. *Writing* never produces one: an instant always has a real local rendering.
- **Overlap** (fall back, e.g. 01:30 on the US November change): the reading happened twice. *Reading* one
  resolves to the **earlier** instant (``fold=0``, still daylight time), because that is what a naive clock
  most often meant and it is what our own writes rely on. *Writing* an instant whose rendering falls in the
  repeated hour is accepted only when it reads back to the same instant (the first pass, ``fold=0``); an
  instant in the second pass (``fold=1``) raises :class:`AmbiguousLocalTime` instead of being stored as a
  time that would read back an hour early. Round trips through the PMS are therefore always exact.

The policy only: each vendor's folder owns its wire format (``2026-03-08T09:00:00`` for Eaglesoft,
``2026-03-08 09:00:00`` for Open Dental). Pure functions, no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = [
    "AmbiguousLocalTime",
    "LocalTimeKind",
    "NonexistentLocalTime",
    "classify",
    "require_naive",
    "to_local",
    "to_utc",
]


class NonexistentLocalTime(ValueError):
    """A wall-clock time that the spring-forward change skipped in the office's zone."""


class AmbiguousLocalTime(ValueError):
    """An instant in the repeated fall-back hour whose naive rendering would read back as the other pass."""


class LocalTimeKind(StrEnum):
    NORMAL = "normal"  # exactly one instant
    GAP = "gap"  # no instant: skipped by a spring-forward change
    OVERLAP = "overlap"  # two instants: repeated by a fall-back change


def classify(local: datetime, zone: ZoneInfo) -> LocalTimeKind:
    """How many instants the naive wall-clock time ``local`` names in ``zone``."""
    require_naive(local)
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return LocalTimeKind.NORMAL
    # In a gap both folds exist only on paper: converting there and back lands on another wall-clock time.
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return LocalTimeKind.GAP if back != local else LocalTimeKind.OVERLAP


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant a naive office-local time read from the PMS names (overlap: the earlier one).

    Raises :class:`NonexistentLocalTime` for a time in a spring-forward gap.
    """
    kind = classify(local, zone)
    if kind is LocalTimeKind.GAP:
        raise NonexistentLocalTime(f"{local.isoformat()} does not exist in {zone.key}")
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive office-local rendering of an instant to write to the PMS, exact on reading back.

    Raises :class:`AmbiguousLocalTime` for an instant in the second pass of a repeated hour, which
    :func:`to_utc` would read back one offset-change earlier.
    """
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("naive datetime: an instant needs a time zone")
    local = instant.astimezone(zone)
    if local.fold == 1 and classify(local.replace(tzinfo=None), zone) is LocalTimeKind.OVERLAP:
        raise AmbiguousLocalTime(
            f"{instant.astimezone(UTC).isoformat()} falls in the repeated hour of {zone.key} (second pass)"
        )
    return local.replace(tzinfo=None, fold=0)


def require_naive(value: datetime) -> None:
    """Office-local readings carry no offset; one that does is a dialect error (ValueError)."""
    if value.tzinfo is not None:
        raise ValueError("office-local times carry no offset")
