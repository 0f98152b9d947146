from __future__ import annotations

from typing import Any

import pytest

from adapters.opendental.sandbox.filters import (
    FilterError,
    appointment_filter,
    patient_filter,
    simple_patient_filter,
)

_PATIENT = {"LName": "Smithson", "FName": "Ana", "Birthdate": "1980-01-02", "Email": "Ana@Example.com",
            "WirelessPhone": "(212)555-0142", "HmPhone": "", "WkPhone": "", "PatStatus": "Patient", "ClinicNum": 1,
            "DateTStamp": "2026-03-01 10:00:00"}  # fmt: skip
_APPT = {"AptDateTime": "2026-03-08 01:30:00", "Op": 3, "ClinicNum": 1, "PatNum": 7, "AptStatus": "Scheduled",
         "DateTStamp": "2026-03-01 10:00:00"}  # fmt: skip


@pytest.mark.parametrize(
    ("params", "kept"),
    [
        ({"LName": "smi"}, True),
        ({"LName": "Smythe"}, False),
        ({"FName": "AN", "Birthdate": "1980-01-02"}, True),
        ({"Birthdate": "1980-01-03"}, False),
        ({"Phone": "5550142"}, True),
        ({"Email": "ana@example.com"}, True),
        ({"PatStatus": "Inactive"}, False),
        ({"ClinicNum": "1"}, True),
    ],
)
def test_patient_filter(params: dict[str, str], kept: bool) -> None:
    assert patient_filter(params)(_PATIENT) is kept


@pytest.mark.parametrize(
    ("params", "kept"),
    [
        ({"dateStart": "2026-03-08", "dateEnd": "2026-03-08"}, True),
        ({"dateStart": "2026-03-09"}, False),
        ({"date": "2026-03-08"}, True),
        ({"Op": "3", "ClinicNum": "1", "PatNum": "7"}, True),
        ({"Op": "4"}, False),
        ({"AptStatus": "Planned"}, False),
        ({"DateTStamp": "2026-03-01 10:00:00"}, True),
        ({"DateTStamp": "2026-03-02"}, False),
    ],
)
def test_appointment_filter(params: dict[str, str], kept: bool) -> None:
    assert appointment_filter(params)(_APPT) is kept


@pytest.mark.parametrize(
    ("make", "params", "named"),
    [
        (appointment_filter, {"dateStart": "03/08/2026"}, "dateStart"),
        (appointment_filter, {"date": "2026-03-08T00:00:00"}, "date"),
        (appointment_filter, {"DateTStamp": "yesterday"}, "DateTStamp"),
        (appointment_filter, {"AptStatus": "Deleted"}, "AptStatus"),
        (appointment_filter, {"Op": "three"}, "Op"),
        (appointment_filter, {"StartTime": "x"}, "StartTime"),
        (patient_filter, {"Birthdate": "1980-1-2"}, "Birthdate"),
        (patient_filter, {"Phone": "none"}, "Phone"),
        (patient_filter, {"DateTStamp": "2026-03-01"}, "DateTStamp"),  # only /patients/Simple takes it
        (simple_patient_filter, {"Phone": "5550142"}, "Phone"),
    ],
)
def test_bad_dates_and_unknown_parameters_are_refused(make: Any, params: dict[str, str], named: str) -> None:
    with pytest.raises(FilterError, match=named):
        make(params)
