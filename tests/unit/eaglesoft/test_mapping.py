from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapters.domain import (
    AppointmentCreateData,
    AppointmentStatus,
    AppointmentUpdateData,
    Gender,
    PatientCreateData,
    PatientSearchQuery,
    PatientStatus,
    PatientUpdateData,
    Phone,
    PhoneType,
)
from adapters.eaglesoft import mapping
from adapters.eaglesoft.times import NonexistentLocalTime

CHI = ZoneInfo("America/Chicago")
S = AppointmentStatus


def appt_row(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "AppointmentId": 50001,
        "PatientId": "1042",
        "PracticeId": 1,
        "LocationId": 2,
        "StartTime": "2026-03-02T09:00:00",
        "EndTime": "2026-03-02T09:45:00",
        "Classification": 1,
        "Description": "Comp Exam",
        "AppointmentNotes": "bring x-rays [pms-relay:ref=cmd-1]",
        "ConfirmationStatus": 0,
        "AppointmentArrivalStatus": 0,
        "Providers": [{"ProviderId": "RDH1", "Primary": "N"}, {"ProviderId": "DDS1", "Primary": "Y"}],
    }
    row.update(over)
    return row


@pytest.mark.parametrize(
    ("arrival", "confirmation", "status"),
    [
        (0, 0, S.SCHEDULED),
        (0, 1, S.CONFIRMED),
        (0, 2, S.SCHEDULED),  # left message
        (0, 3, S.SCHEDULED),  # no answer
        (1, 1, S.ARRIVED),
        (2, 0, S.IN_CHAIR),
        (3, 1, S.COMPLETED),  # checked out
        (4, 1, S.COMPLETED),  # walked out
        (5, 1, S.NO_SHOW),
    ],
)
def test_status_from_eaglesoft(arrival: int, confirmation: int, status: AppointmentStatus) -> None:
    assert mapping.status_from_eaglesoft(arrival, confirmation) is status


def test_unknown_arrival_status_is_an_error() -> None:
    with pytest.raises(ValueError, match="arrival"):
        mapping.status_from_eaglesoft(9, 0)


@pytest.mark.parametrize(
    ("status", "current_confirmation", "fields"),
    [
        (S.SCHEDULED, 0, {"AppointmentArrivalStatus": 0}),
        (S.SCHEDULED, 1, {"AppointmentArrivalStatus": 0, "ConfirmationStatus": 0}),
        (S.SCHEDULED, 2, {"AppointmentArrivalStatus": 0}),  # "left message" kept
        (S.CONFIRMED, 0, {"AppointmentArrivalStatus": 0, "ConfirmationStatus": 1}),
        (S.CONFIRMED, 1, {"AppointmentArrivalStatus": 0}),
        (S.ARRIVED, 0, {"AppointmentArrivalStatus": 1}),
        (S.IN_CHAIR, 1, {"AppointmentArrivalStatus": 2}),
        (S.COMPLETED, 1, {"AppointmentArrivalStatus": 4}),
        (S.NO_SHOW, 0, {"AppointmentArrivalStatus": 5}),
    ],
)
def test_status_fields(status: AppointmentStatus, current_confirmation: int, fields: dict[str, int]) -> None:
    assert mapping.status_fields(status, current_confirmation=current_confirmation) == fields
    # the write reads back as the status written
    arrival = fields["AppointmentArrivalStatus"]
    assert (
        mapping.status_from_eaglesoft(arrival, fields.get("ConfirmationStatus", current_confirmation))
        is status
    )


@pytest.mark.parametrize("status", [S.CANCELLED, S.BROKEN])
def test_deleted_statuses_have_no_columns(status: AppointmentStatus) -> None:
    with pytest.raises(ValueError, match="deleting"):
        mapping.status_fields(status)


def test_appointment_from_eaglesoft() -> None:
    appt = mapping.appointment_from_eaglesoft(appt_row(), CHI)
    assert appt.id == "50001"
    assert (appt.patient_id, appt.location_id, appt.operatory_id) == ("1042", "1", "2")
    assert appt.provider_id == "DDS1"  # the primary one, not the first one
    assert appt.start == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    assert appt.duration_minutes == 45
    assert (appt.notes, appt.external_reference) == ("bring x-rays", "cmd-1")
    assert appt.appointment_type == "Comp Exam"


@pytest.mark.parametrize(
    ("providers", "expected"),
    [
        ([], None),
        ([{"ProviderId": "DDS1", "Primary": "N"}], "DDS1"),  # the only one
        ([{"ProviderId": "DDS1", "Primary": "N"}, {"ProviderId": "RDH1", "Primary": "N"}], None),
    ],
)
def test_primary_provider(providers: list[dict[str, str]], expected: str | None) -> None:
    assert mapping.appointment_from_eaglesoft(appt_row(Providers=providers), CHI).provider_id == expected


@pytest.mark.parametrize(
    ("row", "block"),
    [
        (appt_row(), False),
        (appt_row(Classification=2, PatientId=None), True),
        (appt_row(PatientId=None), True),
    ],
)
def test_blocks_are_never_appointments(row: dict[str, Any], block: bool) -> None:
    assert mapping.is_block(row) is block
    if block:
        with pytest.raises(ValueError, match="block"):
            mapping.appointment_from_eaglesoft(row, CHI)


def test_appointment_in_a_dst_gap_is_a_data_error() -> None:
    row = appt_row(StartTime="2026-03-08T02:30:00", EndTime="2026-03-08T03:00:00")
    with pytest.raises(NonexistentLocalTime):
        mapping.appointment_from_eaglesoft(row, CHI)


def test_operatories_hidden_chairs_count_as_deleted() -> None:
    visible = mapping.operatory_from_eaglesoft(
        {"ChairNum": 2, "ChairName": "Chair 2", "PracticeId": 1, "Hidden": "N"}
    )
    assert visible is not None
    assert (visible.id, visible.location_id) == ("2", "1")
    hidden = {"ChairNum": 4, "ChairName": "Chair 4", "PracticeId": 1, "Hidden": "Y"}
    assert mapping.operatory_from_eaglesoft(hidden) is None


def test_location_zone_comes_from_configuration() -> None:
    loc = mapping.location_from_eaglesoft(
        {"PracticeId": 1, "Name": "Main", "City": "Chicago", "Phone": "3125550100"},
        time_zone="America/Chicago",
    )
    assert (loc.id, loc.time_zone, loc.address and loc.address.city) == ("1", "America/Chicago", "Chicago")


def _booking(**over: Any) -> AppointmentCreateData:
    values: dict[str, Any] = {
        "patient_id": "1042",
        "location_id": "1",
        "operatory_id": "2",
        "provider_id": "DDS1",
        "start": datetime(2026, 7, 1, 14, 0, tzinfo=UTC),
        "end": datetime(2026, 7, 1, 14, 30, tzinfo=UTC),
        "appointment_type": "Comp Exam",
        "notes": "hello",
    }
    values.update(over)
    return AppointmentCreateData(**values)


def test_appointment_create_body() -> None:
    body = mapping.appointment_create_body(_booking(), reference="cmd-9", zone=CHI)
    assert body == {
        "PatientId": "1042",
        "LocationId": 2,
        "StartTime": "2026-07-01T09:00:00",
        "EndTime": "2026-07-01T09:30:00",
        "Classification": 1,
        "AppointmentNotes": "hello [pms-relay:ref=cmd-9]",
        "AppointmentArrivalStatus": 0,
        "Providers": [{"ProviderId": "DDS1", "Primary": "Y"}],
        "Description": "Comp Exam",
    }


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"status": S.CANCELLED}, "status"),
        ({"operatory_id": "chair-two"}, "operatory_id"),
        # second pass of the repeated hour in Chicago (01:30 CST on 2026-11-01 is 07:30Z)
        (
            {
                "start": datetime(2026, 11, 1, 7, 30, tzinfo=UTC),
                "end": datetime(2026, 11, 1, 8, 30, tzinfo=UTC),
            },
            "^start: ",
        ),
    ],
)
def test_appointment_create_body_refusals(over: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        mapping.appointment_create_body(_booking(**over), reference="cmd-9", zone=CHI)


def test_appointment_update_body_is_partial() -> None:
    body = mapping.appointment_update_body(
        appt_row(ConfirmationStatus=0), AppointmentUpdateData(status=S.CONFIRMED), reference="cmd-2", zone=CHI
    )
    assert body == {
        "AppointmentArrivalStatus": 0,
        "ConfirmationStatus": 1,
        "AppointmentNotes": "bring x-rays [pms-relay:ref=cmd-2]",
    }


def test_appointment_update_can_move_an_appointment_out_of_a_gap() -> None:
    row = appt_row(StartTime="2026-03-08T02:30:00", EndTime="2026-03-08T03:00:00")
    start = datetime(2026, 3, 8, 15, 0, tzinfo=UTC)
    updates = AppointmentUpdateData(start=start, end=start.replace(hour=16))
    body = mapping.appointment_update_body(row, updates, reference="cmd-3", zone=CHI)
    assert (body["StartTime"], body["EndTime"]) == ("2026-03-08T10:00:00", "2026-03-08T11:00:00")


def test_appointment_update_end_before_start() -> None:
    updates = AppointmentUpdateData(end=datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="end"):
        mapping.appointment_update_body(appt_row(), updates, reference="cmd-4", zone=CHI)


def test_range_params_are_widened_local_times() -> None:
    params = mapping.appointment_range_params(
        datetime(2026, 11, 1, 5, 0, tzinfo=UTC), datetime(2026, 11, 2, 6, 0, tzinfo=UTC), CHI
    )
    assert params == {"StartDate": "2026-10-31T21:00:00", "EndDate": "2026-11-02T03:00:00"}


# ---- patients ------------------------------------------------------------------------------------------

PATIENT = {
    "PatientId": 1042,
    "FirstName": "Ada",
    "LastName": "Lovelace",
    "MiddleInitial": "K",
    "BirthDate": "1984-05-17",
    "Sex": "F",
    "Status": "A",
    "PatientStatus": "Y",
    "CellPhone": "3125550142",
    "HomePhone": None,
    "WorkPhone": "3125550199",
    "EmailAddress": "ada@example.org",
    "Address1": "1 Main St",
    "City": "Chicago",
    "State": "IL",
    "Zipcode": "60601",
    "PatientNotes": "[pms-relay:ref=cmd-7]",
}


def test_patient_from_eaglesoft() -> None:
    p = mapping.patient_from_eaglesoft(PATIENT)
    assert (p.id, p.middle_name, p.gender, p.status) == ("1042", "K", Gender.FEMALE, PatientStatus.ACTIVE)
    assert p.phones == (
        Phone(number="3125550142", type=PhoneType.MOBILE),
        Phone(number="3125550199", type=PhoneType.WORK),
    )
    assert p.date_of_birth == date(1984, 5, 17)
    assert p.external_reference == "cmd-7"


@pytest.mark.parametrize(
    ("status", "patient_status", "expected"),
    [
        ("A", "Y", PatientStatus.ACTIVE),
        ("I", "Y", PatientStatus.INACTIVE),
        ("A", "N", PatientStatus.NON_PATIENT),
    ],
)
def test_patient_status(status: str, patient_status: str, expected: PatientStatus) -> None:
    row = {**PATIENT, "Status": status, "PatientStatus": patient_status}
    assert mapping.patient_from_eaglesoft(row).status is expected


def test_patient_create_body() -> None:
    data = PatientCreateData(
        first_name="Ada",
        last_name="Lovelace",
        middle_name="Kate",
        date_of_birth=date(1984, 5, 17),
        gender=Gender.OTHER,
        phones=(
            Phone(number="+1 (312) 555-0142", type=PhoneType.OTHER),
            Phone(number="312-555-0100", type=PhoneType.HOME),
        ),
    )
    body = mapping.patient_create_body(data, reference="cmd-1")
    assert body == {
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "BirthDate": "1984-05-17",
        "Status": "A",
        "PatientStatus": "Y",
        "PatientNotes": "[pms-relay:ref=cmd-1]",
        "MiddleInitial": "K",
        "CellPhone": "3125550142",  # OTHER takes the first free column
        "HomePhone": "3125550100",
    }


def test_patient_update_body_is_partial_and_keeps_notes() -> None:
    row = {**PATIENT, "PatientNotes": "allergic to latex [pms-relay:ref=cmd-0]"}
    body = mapping.patient_update_body(row, PatientUpdateData(email="new@example.org"), reference="cmd-5")
    assert body == {
        "EmailAddress": "new@example.org",
        "PatientNotes": "allergic to latex [pms-relay:ref=cmd-5]",
    }


def test_patient_update_replaces_phones_and_address_whole() -> None:
    updates = PatientUpdateData(
        phones=(Phone(number="3125550111", type=PhoneType.WORK),), status=PatientStatus.INACTIVE
    )
    body = mapping.patient_update_body(PATIENT, updates, reference="cmd-6")
    assert body["CellPhone"] is None
    assert body["HomePhone"] is None
    assert body["WorkPhone"] == "3125550111"
    assert (body["Status"], body["PatientStatus"]) == ("I", "Y")


def test_too_many_phones() -> None:
    phones = tuple(Phone(number=f"312555010{i}") for i in range(4))
    with pytest.raises(ValueError, match="phones"):
        mapping.patient_update_body(PATIENT, PatientUpdateData(phones=phones), reference="cmd-6")


@pytest.mark.parametrize(
    ("query", "params"),
    [
        (PatientSearchQuery(last_name="Smi"), {"LastName": "Smi"}),
        (PatientSearchQuery(phone="+1 312-555-0142"), {"Phone": "3125550142"}),
        (
            PatientSearchQuery(first_name="A", date_of_birth=date(1984, 5, 17), email="a@example.org"),
            {"FirstName": "A", "BirthDate": "1984-05-17", "EmailAddress": "a@example.org"},
        ),
    ],
)
def test_patient_search_params(query: PatientSearchQuery, params: dict[str, str]) -> None:
    assert mapping.patient_search_params(query) == params


@pytest.mark.parametrize(
    ("notes", "reference", "tagged"),
    [
        (None, "r1", "[pms-relay:ref=r1]"),
        ("text", "r1", "text [pms-relay:ref=r1]"),
        ("text [pms-relay:ref=r0]", "r1", "text [pms-relay:ref=r1]"),
    ],
)
def test_reference_marker(notes: str | None, reference: str, tagged: str) -> None:
    assert mapping.tag_notes(notes, reference) == tagged
    assert mapping.split_notes(tagged)[1] == reference
