from __future__ import annotations

from typing import Any

import pytest

from adapters.eaglesoft.sandbox.validation import FieldError, validate_appointment, validate_patient

APPT = {
    "PatientId": 1001,
    "LocationId": 2,
    "StartTime": "2026-03-20T09:00:00",
    "EndTime": "2026-03-20T10:00:00",
}


def test_patient_create_fills_defaults_and_normalizes() -> None:
    row = validate_patient(
        {"FirstName": "A", "LastName": "B", "CellPhone": "(312) 555-0100", "State": "il"}, None, 1
    )
    assert (row["Status"], row["PatientStatus"], row["ReceivesSms"]) == ("A", "Y", "N")
    assert (row["CellPhone"], row["State"]) == ("3125550100", "IL")


def test_appointment_create_fills_defaults() -> None:
    row = validate_appointment(APPT, None, 1)
    assert row["PatientId"] == "1001"  # ints are accepted, stored as the string Eaglesoft serves
    assert (row["Classification"], row["ConfirmationStatus"], row["Providers"]) == (1, 0, [])


def test_update_returns_only_the_changes() -> None:
    current = {**APPT, "PatientId": "1001", "AppointmentId": 9, "Classification": 1}
    assert validate_appointment({"AppointmentNotes": "x", "AppointmentId": 9}, current, 1) == {
        "AppointmentNotes": "x"
    }


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ([], "body", "ValidationFailed"),
        ({**APPT, "EndTime": "2026-03-20T09:00:00"}, "EndTime", "ValidationFailed"),
        ({**APPT, "StartTime": "2026-03-20T09:00:00Z"}, "StartTime", "ValidationFailed"),
        ({k: v for k, v in APPT.items() if k != "PatientId"}, "PatientId", "ValidationFailed"),
        ({**APPT, "Classification": 2}, "PatientId", "ValidationFailed"),  # a block has no patient
        ({**APPT, "ConfirmationStatus": 4}, "ConfirmationStatus", "ValidationFailed"),
        ({**APPT, "AppointmentArrivalStatus": True}, "AppointmentArrivalStatus", "ValidationFailed"),
        ({**APPT, "SoonerIfPossible": "yes"}, "SoonerIfPossible", "ValidationFailed"),
        ({**APPT, "Providers": [{"ProviderId": "DDS1", "Primary": "Y"}, {"ProviderId": "DDS2", "Primary": "Y"}]},
         "Providers", "ValidationFailed"),
        ({**APPT, "AppointmentId": 5}, "AppointmentId", "UnknownField"),
        ({**APPT, "Status": "Cancelled"}, "Status", "UnknownField"),
        ({**APPT, "LocationId": None}, "LocationId", "ValidationFailed"),
    ],
)  # fmt: skip
def test_appointment_errors_name_the_field(body: Any, field: str, code: str) -> None:
    with pytest.raises(FieldError) as caught:
        validate_appointment(body, None, 1)
    assert (caught.value.field, caught.value.error_code) == (field, code)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"FirstName": " ", "LastName": "B"}, "FirstName"),
        ({"FirstName": "A"}, "LastName"),
        ({"FirstName": "A", "LastName": "B", "BirthDate": "2999-01-01"}, "BirthDate"),
        ({"FirstName": "A", "LastName": "B", "EmailAddress": "jane.doe"}, "EmailAddress"),
        ({"FirstName": "A", "LastName": "B", "HomePhone": "12"}, "HomePhone"),
        ({"FirstName": "A", "LastName": "B", "Zipcode": "ABCDE"}, "Zipcode"),
    ],
)
def test_patient_errors_never_echo_values(body: dict[str, Any], field: str) -> None:
    with pytest.raises(FieldError) as caught:
        validate_patient(body, None, 1)
    assert caught.value.field == field
    for value in body.values():
        if value.strip() and len(value) > 2:
            assert value not in str(caught.value)
