from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from adapters.dentrix import mapping as m
from adapters.domain import (
    Address,
    AppointmentCreateData,
    AppointmentStatus,
    AppointmentUpdateData,
    DateRange,
    Gender,
    PatientCreateData,
    PatientSearchQuery,
    PatientStatus,
    PatientUpdateData,
    Phone,
    PhoneType,
)

REF = "0b9c6c1e-7d2a-4f6e-9a55-3f1d2c4b5a69"
T0 = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "vendor"),
    [
        (AppointmentStatus.SCHEDULED, "UNCONFIRMED"),
        (AppointmentStatus.CONFIRMED, "CONFIRMED"),
        (AppointmentStatus.ARRIVED, "HERE"),
        (AppointmentStatus.IN_CHAIR, "CHAIR"),
        (AppointmentStatus.COMPLETED, "COMPLETED"),
        (AppointmentStatus.CANCELLED, "CANCELLED"),
        (AppointmentStatus.NO_SHOW, "MISSED"),
        (AppointmentStatus.BROKEN, "BROKEN"),
    ],
)
def test_status_round_trip(status: AppointmentStatus, vendor: str) -> None:
    assert m.status_to_ascend(status) == vendor
    assert m.status_from_ascend(vendor) is status


def test_status_table_covers_every_status_once() -> None:
    assert {s for s, _ in m.STATUS_TABLE} == set(AppointmentStatus)
    assert len({v for _, v in m.STATUS_TABLE}) == len(AppointmentStatus)


def test_unknown_status_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="status"):
        m.status_from_ascend("PENDING")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 3, 8, 9, 0, tzinfo=UTC), "2026-03-08T09:00:00Z"),
        (datetime(2026, 3, 8, 4, 0, 30, 999, tzinfo=timezone(timedelta(hours=-5))), "2026-03-08T09:00:30Z"),
    ],
)
def test_format_instant(value: datetime, expected: str) -> None:
    assert m.format_instant(value) == expected


def test_format_instant_rejects_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        m.format_instant(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-08T09:00:00Z", T0),
        ("2026-03-08T09:00:00.000Z", T0),
        ("2026-03-08T04:00:00-05:00", T0),
    ],
)
def test_parse_instant(text: str, expected: datetime) -> None:
    parsed = m.parse_instant(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_parse_instant_rejects_naive() -> None:
    with pytest.raises(ValueError, match="zone"):
        m.parse_instant("2026-03-08T09:00:00")


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        (None, f"[pms-relay:ref={REF}]"),
        ("", f"[pms-relay:ref={REF}]"),
        ("bring x-rays", f"bring x-rays [pms-relay:ref={REF}]"),
        ("bring x-rays [pms-relay:ref=old-one]", f"bring x-rays [pms-relay:ref={REF}]"),
        ("[pms-relay:ref=old-one]", f"[pms-relay:ref={REF}]"),
    ],
)
def test_tag_notes(notes: str | None, expected: str) -> None:
    assert m.tag_notes(notes, REF) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, (None, None)),
        ("", (None, None)),
        ("plain", ("plain", None)),
        (f"plain [pms-relay:ref={REF}]", ("plain", REF)),
        (f"[pms-relay:ref={REF}]", (None, REF)),
        (f"[pms-relay:ref={REF}] then more", (f"[pms-relay:ref={REF}] then more", None)),
    ],
)
def test_split_notes(text: str | None, expected: tuple[str | None, str | None]) -> None:
    assert m.split_notes(text) == expected


@pytest.mark.parametrize("bad", ["", "a b", "a,b", "a]b"])
def test_tag_notes_rejects_unsafe_references(bad: str) -> None:
    with pytest.raises(ValueError, match="reference"):
        m.tag_notes(None, bad)


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("lastName", "~=", "Smi", "lastName~=Smi"),
        ("lastName", "==", "Smith, Jr", "lastName==Smith\\, Jr"),
        ("other", "~=", "a\\b", "other~=a\\\\b"),
        ("patient.id", "==", 123, "patient.id==123"),
        ("start", ">=", T0, "start>=2026-03-08T09:00:00Z"),
        ("dateOfBirth", "==", date(1980, 2, 29), "dateOfBirth==1980-02-29"),
        ("id", "->", ["1", "2"], "id->[1,2]"),
        ("active", "==", True, "active==true"),
        ("status", "!=", "BROKEN", "status!=BROKEN"),
    ],
)
def test_clause(field: str, op: str, value: object, expected: str) -> None:
    assert m.clause(field, op, value) == expected


def test_clause_rejects_unknown_operator() -> None:
    with pytest.raises(ValueError, match="operator"):
        m.clause("a", "=", 1)


def test_join_filter_leads_with_last_modified() -> None:
    assert m.join_filter(["a==1", "b==2"]) == "lastModified>=2000-01-01T00:00:00Z,a==1,b==2"
    assert m.join_filter([], modified_since=T0) == "lastModified>=2026-03-08T09:00:00Z"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (PatientSearchQuery(last_name="Smi"), ["lastName~=Smi"]),
        (
            PatientSearchQuery(first_name="Ann", last_name="Lee", date_of_birth=date(1990, 1, 2)),
            ["lastName~=Lee", "firstName~=Ann", "dateOfBirth==1990-01-02"],
        ),
        (PatientSearchQuery(email="a@b.c"), ["emailAddress==a@b.c"]),
        (PatientSearchQuery(phone="555-0100"), ["phones.number~=5550100"]),
        (PatientSearchQuery(phone="+1 (212) 555-0100"), ["phones.number~=2125550100"]),
        (PatientSearchQuery(phone="--"), []),
    ],
)
def test_patient_search_filter(query: PatientSearchQuery, expected: list[str]) -> None:
    assert m.patient_search_filter(query) == expected


def test_appointment_range_filter() -> None:
    rng = DateRange(start=T0, end=T0 + timedelta(days=1))
    assert m.appointment_range_filter(rng, None) == [
        "start<=2026-03-09T09:00:00Z",
        "end>=2026-03-08T09:00:00Z",
    ]
    assert m.appointment_range_filter(rng, ["7", "8"])[-1] == "operatory.id->[7,8]"


def _appointment(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "1001",
        "type": "AppointmentV1",
        "title": "Cleaning",
        "start": "2026-03-08T09:00:00Z",
        "end": "2026-03-08T10:30:00Z",
        "duration": 90,
        "status": "HERE",
        "patient": {"id": "p1", "type": "PatientV1"},
        "provider": {"id": "dr1", "type": "ProviderV1"},
        "operatory": {"id": "op1", "type": "OperatoryV1"},
        "other": f"x-rays [pms-relay:ref={REF}]",
        "lastModified": "2026-03-01T00:00:00Z",
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("overrides", "location_of", "expected"),
    [
        ({}, {"op1": "loc1"}, {"location_id": "loc1", "status": AppointmentStatus.ARRIVED}),
        ({"location": {"id": "loc9", "type": "LocationV1"}}, {}, {"location_id": "loc9"}),
        ({"provider": None, "other": None}, {"op1": "L"}, {"provider_id": None, "external_reference": None}),
        ({"status": "MISSED"}, {"op1": "L"}, {"status": AppointmentStatus.NO_SHOW}),
        ({"end": "2026-03-08T09:45:00Z"}, {"op1": "L"}, {"duration_minutes": 45}),
    ],
)
def test_appointment_from_ascend(
    overrides: dict[str, Any], location_of: dict[str, str], expected: dict[str, Any]
) -> None:
    appt = m.appointment_from_ascend(_appointment(**overrides), location_of=location_of)
    for key, value in expected.items():
        assert getattr(appt, key) == value


def test_appointment_from_ascend_fields() -> None:
    appt = m.appointment_from_ascend(_appointment(), location_of={"op1": "loc1"})
    assert (appt.id, appt.patient_id, appt.operatory_id, appt.provider_id) == ("1001", "p1", "op1", "dr1")
    assert appt.start == T0
    assert appt.duration_minutes == 90
    assert appt.notes == "x-rays"
    assert appt.external_reference == REF
    assert appt.appointment_type == "Cleaning"


@pytest.mark.parametrize(
    "overrides",
    [{"operatory": None}, {"status": "WAT"}, {"start": "2026-03-08T09:00:00"}, {"patient": None}],
)
def test_appointment_from_ascend_rejects(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any ValueError: the adapter maps them all alike
        m.appointment_from_ascend(_appointment(**overrides), location_of={"op1": "L"})


def test_appointment_from_ascend_unknown_location() -> None:
    with pytest.raises(ValueError, match="location"):
        m.appointment_from_ascend(_appointment(), location_of={})


def test_appointment_create_body() -> None:
    data = AppointmentCreateData(
        patient_id="p1",
        location_id="loc1",
        operatory_id="op1",
        provider_id="dr1",
        start=T0,
        end=T0 + timedelta(minutes=50),
        appointment_type="Exam",
        notes="first visit",
    )
    assert m.appointment_create_body(data, reference=REF) == {
        "start": "2026-03-08T09:00:00Z",
        "end": "2026-03-08T09:50:00Z",
        "duration": 50,
        "status": "UNCONFIRMED",
        "patient": {"id": "p1", "type": "PatientV1"},
        "operatory": {"id": "op1", "type": "OperatoryV1"},
        "location": {"id": "loc1", "type": "LocationV1"},
        "provider": {"id": "dr1", "type": "ProviderV1"},
        "title": "Exam",
        "other": f"first visit [pms-relay:ref={REF}]",
    }


@pytest.mark.parametrize(
    ("updates", "expected"),
    [
        (AppointmentUpdateData(), {"status": "HERE", "other": "x-rays [pms-relay:ref=new]", "duration": 90}),
        (
            AppointmentUpdateData(status=AppointmentStatus.CANCELLED),
            {"status": "CANCELLED", "title": "Cleaning"},
        ),
        (AppointmentUpdateData(notes="new note"), {"other": "new note [pms-relay:ref=new]"}),
        (
            AppointmentUpdateData(end=T0 + timedelta(minutes=30)),
            {"start": "2026-03-08T09:00:00Z", "end": "2026-03-08T09:30:00Z", "duration": 30},
        ),
        (AppointmentUpdateData(operatory_id="op2"), {"operatory": {"id": "op2", "type": "OperatoryV1"}}),
        (AppointmentUpdateData(provider_id="dr2"), {"provider": {"id": "dr2", "type": "ProviderV1"}}),
    ],
)
def test_appointment_update_body(updates: AppointmentUpdateData, expected: dict[str, Any]) -> None:
    body = m.appointment_update_body(_appointment(), updates, reference="new")
    assert "id" not in body
    assert "lastModified" not in body
    assert body["patient"] == {"id": "p1", "type": "PatientV1"}
    for key, value in expected.items():
        assert body[key] == value


def test_appointment_update_body_rejects_inverted_times() -> None:
    with pytest.raises(ValueError, match="end"):
        m.appointment_update_body(
            _appointment(), AppointmentUpdateData(start=T0 + timedelta(hours=2)), reference="r"
        )


def _patient(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "p1",
        "type": "PatientV1",
        "firstName": "Ann",
        "lastName": "Lee",
        "dateOfBirth": "1990-01-02",
        "gender": "F",
        "patientStatus": "NON-PATIENT",
        "chartNumber": "LE0001",
        "address1": "1 Main St",
        "city": "Austin",
        "state": "TX",
        "postalCode": "78701",
        "phones": [{"number": "512-555-0100", "type": "MOBILE"}, {"number": "512-555-0101"}],
        "emailAddress": "ann@example.com",
        m.PATIENT_NOTES_FIELD: f"allergic [pms-relay:ref={REF}]",
        "lastModified": "2026-03-01T00:00:00Z",
    }
    body.update(overrides)
    return body


def test_patient_from_ascend() -> None:
    patient = m.patient_from_ascend(_patient())
    assert patient.id == "p1"
    assert (patient.first_name, patient.last_name) == ("Ann", "Lee")
    assert patient.date_of_birth == date(1990, 1, 2)
    assert patient.gender is Gender.FEMALE
    assert patient.status is PatientStatus.NON_PATIENT
    assert patient.phones == (
        Phone(number="512-555-0100", type=PhoneType.MOBILE),
        Phone(number="512-555-0101"),
    )
    assert patient.email == "ann@example.com"
    assert patient.address == Address(line1="1 Main St", city="Austin", state="TX", postal_code="78701")
    assert patient.chart_number == "LE0001"
    assert patient.external_reference == REF


@pytest.mark.parametrize(
    ("overrides", "attr", "expected"),
    [
        ({"gender": "M"}, "gender", Gender.MALE),
        ({"gender": "O"}, "gender", Gender.OTHER),
        ({"gender": None}, "gender", Gender.UNKNOWN),
        ({"patientStatus": "NEW"}, "status", PatientStatus.NEW),
        ({"patientStatus": "INACTIVE"}, "status", PatientStatus.INACTIVE),
        ({"patientStatus": None}, "status", PatientStatus.ACTIVE),
        ({"dateOfBirth": None}, "date_of_birth", None),
        ({"phones": None}, "phones", ()),
        ({"address1": None, "city": None, "state": None, "postalCode": None}, "address", None),
        ({m.PATIENT_NOTES_FIELD: None}, "external_reference", None),
    ],
)
def test_patient_from_ascend_variants(overrides: dict[str, Any], attr: str, expected: object) -> None:
    assert getattr(m.patient_from_ascend(_patient(**overrides)), attr) == expected


def test_patient_create_body() -> None:
    data = PatientCreateData(
        first_name="Ann",
        last_name="Lee",
        date_of_birth=date(1990, 1, 2),
        gender=Gender.OTHER,
        phones=(Phone(number="512-555-0100", type=PhoneType.HOME),),
        email="ann@example.com",
        address=Address(line1="1 Main St", state="TX"),
        preferred_location_id="loc1",
    )
    assert m.patient_create_body(data, reference=REF) == {
        "firstName": "Ann",
        "lastName": "Lee",
        "dateOfBirth": "1990-01-02",
        "gender": "O",
        "emailAddress": "ann@example.com",
        "patientStatus": "NEW",
        "phones": [{"number": "512-555-0100", "type": "HOME"}],
        "address1": "1 Main St",
        "state": "TX",
        "preferredLocation": {"id": "loc1", "type": "LocationV1"},
        m.PATIENT_NOTES_FIELD: f"[pms-relay:ref={REF}]",
    }


def test_patient_create_body_unknown_gender_is_omitted() -> None:
    data = PatientCreateData(first_name="A", last_name="B", date_of_birth=date(2000, 1, 1))
    assert "gender" not in m.patient_create_body(data, reference=REF)


@pytest.mark.parametrize(
    ("updates", "expected", "absent"),
    [
        (PatientUpdateData(), {"firstName": "Ann", "city": "Austin", "gender": "F"}, []),
        (PatientUpdateData(last_name="Ng"), {"lastName": "Ng", "firstName": "Ann"}, []),
        (PatientUpdateData(gender=Gender.UNKNOWN), {"firstName": "Ann", "gender": None}, []),
        (PatientUpdateData(status=PatientStatus.INACTIVE), {"patientStatus": "INACTIVE"}, []),
        (PatientUpdateData(phones=()), {"phones": []}, []),
        (
            PatientUpdateData(address=Address(city="Waco")),
            {"city": "Waco", "address1": None, "state": None, "postalCode": None},
            [],
        ),
        (PatientUpdateData(email="n@example.com"), {"emailAddress": "n@example.com"}, []),
    ],
)
def test_patient_update_body(updates: PatientUpdateData, expected: dict[str, Any], absent: list[str]) -> None:
    body = m.patient_update_body(_patient(), updates, reference="new")
    assert body[m.PATIENT_NOTES_FIELD] == "allergic [pms-relay:ref=new]"
    for key, value in expected.items():
        assert body[key] == value
    for key in absent:
        assert key not in body


def test_location_and_operatory() -> None:
    loc = m.location_from_ascend(
        {
            "id": 7,
            "type": "LocationV1",
            "name": "Main",
            "timeZone": "America/Chicago",
            "phone": "1",
            "city": "X",
        }
    )
    assert (loc.id, loc.time_zone, loc.phone) == ("7", "America/Chicago", "1")
    assert loc.address == Address(city="X")
    op = m.operatory_from_ascend(
        {"id": "op1", "name": "Op 1", "shortName": "O1", "active": False, "location": {"id": "7"}}
    )
    assert (op.id, op.location_id, op.short_name, op.active) == ("op1", "7", "O1", False)


@pytest.mark.parametrize(
    ("phones", "wanted", "expected"),
    [
        (("(512) 555-0100",), "5125550100", True),
        (("5125550100",), "+1 512 555 0100", True),
        (("512-555-0100",), "555-0100", True),
        (("512-555-0100",), "555-0199", False),
        (("512-555-0100",), "-", False),
        ((), "555", False),
    ],
)
def test_patient_matches_phone(phones: tuple[str, ...], wanted: str, expected: bool) -> None:
    patient = m.patient_from_ascend(_patient(phones=[{"number": n} for n in phones]))
    assert m.patient_matches_phone(patient, wanted) is expected
