from __future__ import annotations

from typing import Any

import pytest

from adapters.opendental.sandbox.validation import (
    FieldError,
    References,
    validate_appointment,
    validate_break,
    validate_confirm,
    validate_patient,
)

REFS = References(
    patients=frozenset({7}),
    operatories=frozenset({1, 4}),
    hidden_operatories=frozenset({4}),
    providers=frozenset({1}),
    clinics=frozenset({1}),
    appointment_types=frozenset({1}),
    confirmations=frozenset({19, 21}),
)
_NEW = {"PatNum": 7, "Op": 1, "AptDateTime": "2026-03-02 09:00:00"}


def test_a_create_is_filled_with_defaults() -> None:
    row = validate_appointment(_NEW, None, REFS)
    assert (row["AptStatus"], row["Pattern"], row["IsNewPatient"], row["DateTimeArrived"]) == (
        "Scheduled", "//XXXX//", "false", "0001-01-01 00:00:00",
    )  # fmt: skip
    assert (row["Confirmed"], row["ClinicNum"]) == (None, None)  # for the office to fill


def test_a_put_is_partial() -> None:
    assert validate_appointment({"Note": "x"}, {**_NEW, "AptNum": 1}, REFS) == {"Note": "x"}


@pytest.mark.parametrize(
    ("body", "explanation"),
    [
        ({**_NEW, "PatNum": 8}, "PatNum is invalid."),
        ({**_NEW, "Op": 4}, "Op is a hidden operatory."),
        ({**_NEW, "AptDateTime": "2026-03-02T09:00:00"}, "AptDateTime is not a valid date and time"),
        ({**_NEW, "AptDateTime": "0001-01-01 00:00:00"}, "AptDateTime is required."),
        ({**_NEW, "IsNewPatient": True}, 'IsNewPatient must be either "true" or "false".'),
        ({**_NEW, "Pattern": "XX-X"}, "Pattern must be"),
        ({**_NEW, "AptStatus": "Broken"}, "Use Appointments PUT Break"),
        ({**_NEW, "AptNum": 3}, "AptNum is not a field that can be set."),
        ({"PatNum": 7, "Op": 1}, "AptDateTime is required."),
        ([], "The body must be a JSON object."),
    ],
)
def test_appointment_refusals_name_the_field(body: Any, explanation: str) -> None:
    with pytest.raises(FieldError, match=explanation.replace("(", r"\(")):
        validate_appointment(body, None, REFS)


@pytest.mark.parametrize(
    ("body", "explanation"),
    [
        ({"FName": "A"}, "LName is required."),
        ({"FName": "A", "LName": " "}, "LName is required and cannot be blank."),
        ({"FName": "A", "LName": "B", "Email": "not-an-email"}, "Email is not a valid email address."),
        ({"FName": "A", "LName": "B", "Birthdate": "1980-13-01"}, "Birthdate is not a valid date"),
        ({"FName": "A", "LName": "B", "Birthdate": "2999-01-01"}, "Birthdate must be a date in the past."),
        ({"FName": "A", "LName": "B", "Gender": "M"}, "Gender must be one of"),
        ({"FName": "A", "LName": "B", "HmPhone": "call me"}, "HmPhone is not a valid phone number."),
    ],
)
def test_patient_refusals_name_the_field(body: dict[str, Any], explanation: str) -> None:
    with pytest.raises(FieldError, match=explanation):
        validate_patient(body, None, REFS)


def test_empty_values_are_open_dentals_none() -> None:
    row = validate_patient(
        {"FName": "A", "LName": "B", "Birthdate": "0001-01-01", "Email": "", "HmPhone": ""}, None, REFS
    )
    assert (row["Birthdate"], row["Email"], row["PatStatus"]) == ("0001-01-01", "", "Patient")


@pytest.mark.parametrize(
    ("body", "expected"), [({"confirmVal": "Confirmed"}, ("Confirmed", None)), ({"defNum": 21}, (None, 21))]
)
def test_confirm(body: dict[str, Any], expected: tuple[str | None, int | None]) -> None:
    assert validate_confirm(body, REFS) == expected


@pytest.mark.parametrize(
    "body", [{}, {"confirmVal": "Confirmed", "defNum": 21}, {"confirmVal": "Yes"}, {"defNum": 99}]
)
def test_confirm_refusals(body: dict[str, Any]) -> None:
    with pytest.raises(FieldError):
        validate_confirm(body, REFS)


def test_break() -> None:
    assert validate_break({"breakType": "Missed"}, REFS) == "Missed"
    for body in ({}, {"breakType": "Late"}, {"breakType": "Missed", "sendToUnscheduledList": "true"}):
        with pytest.raises(FieldError):
            validate_break(body, REFS)
