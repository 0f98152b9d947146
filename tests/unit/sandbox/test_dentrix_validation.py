from __future__ import annotations

from typing import Any

import pytest

from adapters.dentrix.sandbox.validation import FieldError, validate_appointment, validate_patient

KNOWN = {
    ("patients", "100"),
    ("providers", "7"),
    ("locations", "1"),
    ("locations", "2"),
    ("operatories", "10"),
    ("operatories", "11"),
}
OPERATORIES = {
    "10": {"id": "10", "active": True, "location": {"id": "1", "type": "LocationV1"}},
    "11": {"id": "11", "active": False, "location": {"id": "1", "type": "LocationV1"}},
}


def lookup(resource: str, record_id: str) -> dict[str, Any] | None:
    if resource == "operatories":
        return OPERATORIES.get(record_id)
    return {"id": record_id} if (resource, record_id) in KNOWN else None


APPT = {
    "start": "2026-03-02T15:00:00Z",
    "end": "2026-03-02T16:00:00Z",
    "patient": {"id": "100", "type": "PatientV1"},
    "operatory": {"id": "10", "type": "OperatoryV1"},
}
PATIENT = {"firstName": "Ada", "lastName": "Testperson", "dateOfBirth": "1980-01-02"}


def test_appointment_defaults_and_derivations() -> None:
    stored = validate_appointment({**APPT, "patient": {"id": 100}}, None, lookup)
    assert stored["status"] == "UNCONFIRMED"
    assert stored["duration"] == 60
    assert stored["patient"] == {"id": "100", "type": "PatientV1"}
    assert stored["location"] == {"id": "1", "type": "LocationV1"}


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"start": None}, "start", "validation.MissingField"),
        ({"end": None}, "end", "validation.MissingField"),
        ({"end": "2026-03-02T14:00:00Z"}, "end", "validation.InvalidField"),
        ({"start": "2026-03-02T15:00:00"}, "start", "validation.InvalidField"),
        ({"start": "tomorrow"}, "start", "validation.InvalidField"),
        ({"duration": 30}, "duration", "validation.InvalidField"),
        ({"status": "DONE"}, "status", "validation.InvalidField"),
        ({"patient": {"id": "999"}}, "patient", "validation.InvalidReference"),
        ({"patient": {"id": "100", "type": "ProviderV1"}}, "patient", "validation.InvalidField"),
        ({"provider": {"id": "8"}}, "provider", "validation.InvalidReference"),
        ({"operatory": {"id": "11"}}, "operatory", "validation.InactiveOperatory"),
        ({"location": {"id": "2"}}, "location", "validation.InvalidField"),
        ({"notes": "x"}, "notes", "validation.UnknownField"),
    ],
)
def test_appointment_rejections(changes: dict[str, Any], field: str, code: str) -> None:
    with pytest.raises(FieldError) as caught:
        validate_appointment({**APPT, **changes}, None, lookup)
    assert (caught.value.field, caught.value.errorcode) == (field, code)


def test_appointment_put_keeps_absent_fields_and_duration() -> None:
    current = {"id": "5", **validate_appointment({**APPT, "other": "keep me"}, None, lookup)}
    moved = validate_appointment({"start": "2026-03-02T18:00:00Z"}, current, lookup)
    assert (moved["end"], moved["duration"], moved["other"]) == ("2026-03-02T19:00:00Z", 60, "keep me")
    cleared = validate_appointment({"other": None, "id": "5", "type": "AppointmentV1"}, current, lookup)
    assert cleared["other"] is None
    assert cleared["start"] == current["start"]


def test_appointment_in_a_closed_operatory_can_still_be_updated() -> None:
    current = {"id": "5", **validate_appointment(APPT, None, lookup), "operatory": {"id": "11", "type": "x"}}
    assert validate_appointment({"status": "CANCELLED"}, current, lookup)["status"] == "CANCELLED"


def test_patient_defaults() -> None:
    stored = validate_patient({**PATIENT, "state": "ny"}, None, lookup)
    assert (stored["patientStatus"], stored["state"], stored["chartNumber"]) == ("NEW", "NY", None)


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"firstName": None}, "firstName", "validation.MissingField"),
        ({"lastName": "  "}, "lastName", "validation.InvalidField"),
        ({"dateOfBirth": "02/01/1980"}, "dateOfBirth", "validation.InvalidField"),
        ({"dateOfBirth": "2999-01-01"}, "dateOfBirth", "validation.InvalidField"),
        ({"gender": "X"}, "gender", "validation.InvalidField"),
        ({"state": "New York"}, "state", "validation.InvalidField"),
        ({"postalCode": "98 76"}, "postalCode", "validation.InvalidField"),
        ({"emailAddress": "nobody"}, "emailAddress", "validation.InvalidField"),
        ({"phones": [{"number": "12"}]}, "phones.number", "validation.InvalidField"),
        ({"phones": [{"number": "2125550100", "type": "PAGER"}]}, "phones.type", "validation.InvalidField"),
        ({"preferredLocation": {"id": "9"}}, "preferredLocation", "validation.InvalidReference"),
        ({"contactMethod": "SMOKE SIGNAL"}, "contactMethod", "validation.InvalidField"),
        ({"email": "a@b.c"}, "email", "validation.UnknownField"),
    ],
)
def test_patient_rejections(changes: dict[str, Any], field: str, code: str) -> None:
    with pytest.raises(FieldError) as caught:
        validate_patient({**PATIENT, **changes}, None, lookup)
    assert (caught.value.field, caught.value.errorcode) == (field, code)
    for value in changes.values():
        if isinstance(value, str) and value.strip():
            assert value not in str(caught.value)


def test_not_an_object() -> None:
    with pytest.raises(FieldError) as caught:
        validate_patient(["x"], None, lookup)
    assert caught.value.errorcode == "validation.MalformedBody"
