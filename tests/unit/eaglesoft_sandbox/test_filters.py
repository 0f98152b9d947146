from __future__ import annotations

from typing import Any

import pytest

from adapters.eaglesoft.sandbox.filters import FilterError, appointment_filter, patient_filter

PATIENT = {"FirstName": "Olivia", "LastName": "O'Brien", "BirthDate": "1980-05-17", "CellPhone": "3125550101",
           "HomePhone": None, "WorkPhone": "2125550102", "EmailAddress": "Olivia.O@example.com", "Status": "A",
           "PatientNotes": "ref cmd-7"}  # fmt: skip
APPT = {"StartTime": "2026-03-08T01:30:00", "EndTime": "2026-03-08T03:30:00", "LocationId": 1, "PatientId": "1001",
        "Classification": 1, "AppointmentNotes": None}  # fmt: skip


@pytest.mark.parametrize(
    ("params", "holds"),
    [
        ({"LastName": "o'b"}, True),
        ({"LastName": "brien"}, False),  # a prefix, not a substring
        ({"FirstName": "OLI", "BirthDate": "1980-05-17"}, True),
        ({"Phone": "(212) 555-0102"}, True),
        ({"Phone": "2125550103"}, False),
        ({"EmailAddress": "olivia.o@EXAMPLE.com"}, True),
        ({"Status": "I"}, False),
        ({"NotesContains": "CMD-7"}, True),
    ],
)
def test_patient_filter(params: dict[str, str], holds: bool) -> None:
    assert patient_filter(params)(PATIENT) is holds


@pytest.mark.parametrize(
    ("params", "holds"),
    [
        ({"StartDate": "2026-03-08", "EndDate": "2026-03-08"}, True),
        ({"StartDate": "2026-03-08T03:30:00"}, False),  # ends exactly at the window start: no overlap
        ({"EndDate": "2026-03-08T01:30:00"}, False),
        ({"StartDate": "2026-03-08T03:00:00", "EndDate": "2026-03-08T04:00:00"}, True),
        ({"LocationId": "1", "PatientId": "1001", "Classification": "1"}, True),
        ({"LocationId": "2"}, False),
    ],
)
def test_appointment_filter(params: dict[str, str], holds: bool) -> None:
    assert appointment_filter(params)(APPT) is holds


@pytest.mark.parametrize(
    ("make", "params", "named"),
    [
        (patient_filter, {"Name": "x"}, "Name"),
        (patient_filter, {"BirthDate": "1980"}, "BirthDate"),
        (patient_filter, {"Phone": "none"}, "Phone"),
        (appointment_filter, {"StartDate": "2026-03-08T00:00:00+01:00"}, "StartDate"),
        (appointment_filter, {"LocationId": "one"}, "LocationId"),
    ],
)
def test_bad_filters_name_the_parameter(make: Any, params: dict[str, str], named: str) -> None:
    with pytest.raises(FilterError, match=named):
        make(params)
