"""The normalized domain rejects what no PMS could store meaningfully."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from adapters.domain import (
    AppointmentCreateData,
    AppointmentUpdateData,
    DateRange,
    PatientSearchQuery,
)

T0 = datetime(2026, 3, 8, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        ({"last_name": "x"}, True),
        ({"date_of_birth": date(1990, 1, 1)}, True),
        ({"phone": "555"}, True),
        ({}, False),
        ({"limit": 10}, False),
    ],
)
def test_patient_search_needs_a_criterion(fields: dict[str, object], ok: bool) -> None:
    if ok:
        PatientSearchQuery.model_validate(fields)
    else:
        with pytest.raises(ValidationError):
            PatientSearchQuery.model_validate(fields)


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        (T0, T0 + timedelta(minutes=30), True),
        (T0, T0, False),
        (T0, T0 - timedelta(minutes=1), False),
    ],
)
def test_appointment_and_range_order(start: datetime, end: datetime, ok: bool) -> None:
    base = {"patient_id": "1", "location_id": "2", "operatory_id": "3"}
    for build in (
        lambda: AppointmentCreateData.model_validate({**base, "start": start, "end": end}),
        lambda: DateRange(start=start, end=end),
        lambda: AppointmentUpdateData(start=start, end=end),
    ):
        if ok:
            build()
        else:
            with pytest.raises(ValidationError):
                build()


def test_instants_are_normalized_to_utc_and_naive_ones_refused() -> None:
    eastern = timezone(timedelta(hours=-5))
    value = DateRange(
        start=datetime(2026, 1, 1, 9, tzinfo=eastern), end=datetime(2026, 1, 1, 10, tzinfo=eastern)
    )
    assert value.start == datetime(2026, 1, 1, 14, tzinfo=UTC)
    assert value.start.utcoffset() == timedelta(0)
    with pytest.raises(ValidationError):
        DateRange(start=datetime(2026, 1, 1, 9), end=datetime(2026, 1, 1, 10))
