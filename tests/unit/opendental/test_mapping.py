"""Open Dental dialect <-> normalized domain, as tables: statuses (and the rows that are no appointments),
Pattern <-> duration, booleans, empty dates, office-local times across daylight-saving changes, clinics,
operatories, patients and the write bodies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapters.domain import (
    Address,
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
from adapters.opendental import mapping
from adapters.opendental.mapping import NotAnAppointment, Office, StatusWrite
from adapters.opendental.times import NonexistentLocalTime

NY = ZoneInfo("America/New_York")
CHI = ZoneInfo("America/Chicago")
OFFICE = Office(
    default_zone=NY,
    zones={"1": NY, "2": CHI},
    location_of={"1": "1", "2": "1", "5": "2"},
    type_names={1: "Comp Exam", 2: "Adult Prophy"},
    confirmed_def=21,
)
NOW = datetime(2026, 7, 1, 9, 5)  # office time
EMPTY = "0001-01-01 00:00:00"


def _appt(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "AptNum": 18,
        "PatNum": 17,
        "AptStatus": "Scheduled",
        "Pattern": "//XXXX//",
        "Confirmed": 19,
        "Op": 1,
        "Note": "",
        "ProvNum": 1,
        "AptDateTime": "2026-07-01 09:00:00",
        "ClinicNum": 1,
        "AppointmentTypeNum": 1,
        "DateTimeArrived": EMPTY,
        "DateTimeSeated": EMPTY,
        "DateTimeDismissed": EMPTY,
    }
    row.update(over)
    return row


# ---- status ----------------------------------------------------------------------------------------------

_ARRIVED = {"DateTimeArrived": "2026-07-01 08:55:00"}
_SEATED = {**_ARRIVED, "DateTimeSeated": "2026-07-01 09:02:00"}
_DISMISSED = {**_SEATED, "DateTimeDismissed": "2026-07-01 09:40:00"}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"AptStatus": "Scheduled"}, AppointmentStatus.SCHEDULED),
        ({"AptStatus": "Scheduled", "Confirmed": 22}, AppointmentStatus.SCHEDULED),  # left a message
        ({"AptStatus": "Scheduled", "Confirmed": 21}, AppointmentStatus.CONFIRMED),
        ({"AptStatus": "ASAP", "Confirmed": 21}, AppointmentStatus.CONFIRMED),
        ({"AptStatus": "ASAP"}, AppointmentStatus.SCHEDULED),
        ({"AptStatus": "Scheduled", "Confirmed": 21, **_ARRIVED}, AppointmentStatus.ARRIVED),
        ({"AptStatus": "Scheduled", **_SEATED}, AppointmentStatus.IN_CHAIR),
        ({"AptStatus": "Scheduled", **_DISMISSED}, AppointmentStatus.COMPLETED),
        ({"AptStatus": "Complete"}, AppointmentStatus.COMPLETED),
        ({"AptStatus": "Broken"}, AppointmentStatus.BROKEN),
        ({"AptStatus": "Broken", **_ARRIVED}, AppointmentStatus.BROKEN),
        ({"AptStatus": "UnschedList"}, AppointmentStatus.CANCELLED),
        # the rows of /appointments that are no appointment
        ({"AptStatus": "Planned"}, NotAnAppointment),
        ({"AptStatus": "PtNote"}, NotAnAppointment),
        ({"AptStatus": "PtNoteCompleted"}, NotAnAppointment),
        ({"AptStatus": "Deleted"}, ValueError),
    ],
)
def test_status_table(fields: dict[str, Any], expected: AppointmentStatus | type[Exception]) -> None:
    row = _appt(**fields)
    if isinstance(expected, AppointmentStatus):
        assert mapping.status_from_od(row, confirmed_def=21) is expected
    else:
        with pytest.raises(expected):
            mapping.status_from_od(row, confirmed_def=21)


def test_without_the_confirmation_preference_nothing_reads_confirmed() -> None:
    assert mapping.status_from_od(_appt(Confirmed=21), confirmed_def=None) is AppointmentStatus.SCHEDULED


_STAMP = "2026-07-01 09:05:00"
_WRITES = [
    # (status, the appointment now (None: a new one), what is written)
    (AppointmentStatus.SCHEDULED, None, StatusWrite({"AptStatus": "Scheduled"})),
    (AppointmentStatus.CONFIRMED, None, StatusWrite({"AptStatus": "Scheduled"}, confirm="Confirmed")),
    (AppointmentStatus.ARRIVED, None, StatusWrite({"AptStatus": "Scheduled", "DateTimeArrived": _STAMP})),
    (AppointmentStatus.COMPLETED, None, StatusWrite({"AptStatus": "Complete"})),
    (AppointmentStatus.CONFIRMED, _appt(), StatusWrite({}, confirm="Confirmed")),
    (AppointmentStatus.CONFIRMED, _appt(Confirmed=21), StatusWrite({})),  # already: nothing to write
    (AppointmentStatus.SCHEDULED, _appt(Confirmed=21), StatusWrite({}, confirm="None")),
    (
        AppointmentStatus.SCHEDULED,
        _appt(**_SEATED),
        StatusWrite({"DateTimeArrived": EMPTY, "DateTimeSeated": EMPTY}),
    ),
    (AppointmentStatus.ARRIVED, _appt(), StatusWrite({"DateTimeArrived": _STAMP})),
    (AppointmentStatus.IN_CHAIR, _appt(**_ARRIVED), StatusWrite({"DateTimeSeated": _STAMP})),
    (AppointmentStatus.ARRIVED, _appt(AptStatus="ASAP"), StatusWrite({"DateTimeArrived": _STAMP})),
    (AppointmentStatus.SCHEDULED, _appt(AptStatus="Broken"), StatusWrite({"AptStatus": "Scheduled"})),
    (AppointmentStatus.COMPLETED, _appt(), StatusWrite({"AptStatus": "Complete"})),
    (AppointmentStatus.CANCELLED, _appt(), StatusWrite({"AptStatus": "UnschedList"})),
    (AppointmentStatus.NO_SHOW, _appt(), StatusWrite({}, break_type="Missed")),
    (AppointmentStatus.BROKEN, _appt(), StatusWrite({}, break_type="Cancelled")),
    (AppointmentStatus.BROKEN, _appt(AptStatus="Broken"), StatusWrite({})),
]


@pytest.mark.parametrize(("status", "current", "expected"), _WRITES)
def test_status_writes(
    status: AppointmentStatus, current: dict[str, Any] | None, expected: StatusWrite
) -> None:
    assert mapping.status_write(status, current=current, confirmed_def=21, now_local=NOW) == expected


@pytest.mark.parametrize(
    "status", [AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW, AppointmentStatus.BROKEN]
)
def test_an_appointment_is_not_created_cancelled_or_broken(status: AppointmentStatus) -> None:
    with pytest.raises(ValueError, match="status"):
        mapping.status_write(status, current=None, confirmed_def=21, now_local=NOW)


@pytest.mark.parametrize(("status", "current"), [(s, c) for s, c, _ in _WRITES if c is not None])
def test_a_written_status_reads_back(status: AppointmentStatus, current: dict[str, Any]) -> None:
    """What status_write sends, applied as the API applies it, reads as the status asked (NO_SHOW: BROKEN,
    Open Dental's one broken status)."""
    write = mapping.status_write(status, current=current, confirmed_def=21, now_local=NOW)
    row = {**current, **write.fields}
    if write.confirm is not None:
        row["Confirmed"] = 21 if write.confirm == "Confirmed" else 19
    if write.break_type is not None:
        row["AptStatus"] = "Broken"
    expected = AppointmentStatus.BROKEN if status is AppointmentStatus.NO_SHOW else status
    assert mapping.status_from_od(row, confirmed_def=21) is expected


# ---- Pattern, booleans, dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "minutes"),
    [("X", 5), ("//XXXX//", 40), ("/XX/", 20), ("X" * 12, 60), ("X" * 36, 180), ("//////", 30)],
)
def test_pattern_is_five_minutes_a_character(pattern: str, minutes: int) -> None:
    assert mapping.pattern_minutes(pattern) == minutes


@pytest.mark.parametrize("pattern", ["", "XX-X", "xxxx", None, 40])
def test_an_unreadable_pattern_is_a_data_error(pattern: object) -> None:
    with pytest.raises(ValueError, match="Pattern"):
        mapping.pattern_minutes(pattern)


@pytest.mark.parametrize(("minutes", "pattern"), [(5, "X"), (30, "XXXXXX"), (60, "X" * 12), (180, "X" * 36)])
def test_a_duration_is_written_as_a_pattern(minutes: int, pattern: str) -> None:
    assert mapping.pattern_for(minutes) == pattern
    assert mapping.pattern_minutes(mapping.pattern_for(minutes)) == minutes


@pytest.mark.parametrize("minutes", [0, 3, 31, 47])
def test_a_duration_off_the_five_minute_grid_is_refused(minutes: int) -> None:
    with pytest.raises(ValueError, match="5-minute steps"):
        mapping.pattern_for(minutes)


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("false", False), ("True", True), (" FALSE ", False)]
)
def test_booleans_are_strings(text: str, value: bool) -> None:
    assert mapping.from_bool(text) is value
    assert mapping.to_bool(value) == text.strip().lower()


@pytest.mark.parametrize("value", [True, False, 1, "yes", "", None])
def test_anything_but_true_or_false_is_not_a_boolean(value: object) -> None:
    with pytest.raises(ValueError, match="boolean"):
        mapping.from_bool(value)


def test_empty_dates_are_none() -> None:
    patient = mapping.patient_from_od({"PatNum": 1, "FName": "A", "LName": "B", "Birthdate": "0001-01-01"})
    assert patient.date_of_birth is None
    assert (
        mapping.status_from_od(_appt(DateTimeArrived=EMPTY), confirmed_def=21) is AppointmentStatus.SCHEDULED
    )


# ---- appointments and daylight saving --------------------------------------------------------------------


def test_an_appointment_reads_its_location_zone_provider_type_and_marker() -> None:
    appt = mapping.appointment_from_od(_appt(Note="first visit [pms-relay:ref=cmd-1]"), OFFICE)
    assert (appt.id, appt.patient_id, appt.location_id, appt.operatory_id) == ("18", "17", "1", "1")
    assert (appt.start, appt.end, appt.duration_minutes) == (
        datetime(2026, 7, 1, 13, 0, tzinfo=UTC),
        datetime(2026, 7, 1, 13, 40, tzinfo=UTC),
        40,
    )
    assert (appt.provider_id, appt.appointment_type) == ("1", "Comp Exam")
    assert (appt.notes, appt.external_reference) == ("first visit", "cmd-1")
    chicago = mapping.appointment_from_od(_appt(Op=5, ClinicNum=2), OFFICE)
    assert (chicago.location_id, chicago.start) == ("2", datetime(2026, 7, 1, 14, 0, tzinfo=UTC))
    nobody = mapping.appointment_from_od(_appt(ProvNum=0, AppointmentTypeNum=0), OFFICE)
    assert (nobody.provider_id, nobody.appointment_type) == (None, None)


@pytest.mark.parametrize(
    ("start", "pattern", "utc_start", "minutes", "local_end"),
    [
        # across the spring-forward change: 01:30-03:30 on the wall, 60 minutes of real time
        ("2026-03-08 01:30:00", "X" * 12, datetime(2026, 3, 8, 6, 30, tzinfo=UTC), 60, "03:30"),
        # across the fall-back change: 00:30-02:30 on the wall, 180 minutes of real time
        ("2026-11-01 00:30:00", "X" * 36, datetime(2026, 11, 1, 4, 30, tzinfo=UTC), 180, "02:30"),
        # in the repeated hour: the earlier pass (still daylight time)
        ("2026-11-01 01:30:00", "X" * 6, datetime(2026, 11, 1, 5, 30, tzinfo=UTC), 30, "01:00"),
    ],
)
def test_a_dst_straddling_appointment_lasts_its_pattern(
    start: str, pattern: str, utc_start: datetime, minutes: int, local_end: str
) -> None:
    appt = mapping.appointment_from_od(_appt(AptDateTime=start, Pattern=pattern), OFFICE)
    assert (appt.start, appt.duration_minutes) == (utc_start, minutes)
    assert appt.end - appt.start == timedelta(minutes=minutes)
    assert appt.end.astimezone(NY).strftime("%H:%M") == local_end


def test_a_start_in_the_spring_forward_gap_never_happened() -> None:
    with pytest.raises(NonexistentLocalTime):
        mapping.appointment_from_od(_appt(AptDateTime="2026-03-08 02:30:00"), OFFICE)


def _booking(**over: Any) -> AppointmentCreateData:
    values: dict[str, Any] = {
        "patient_id": "17",
        "location_id": "1",
        "operatory_id": "2",
        "provider_id": "1",
        "start": datetime(2026, 3, 8, 6, 30, tzinfo=UTC),  # 01:30 in New York
        "end": datetime(2026, 3, 8, 7, 30, tzinfo=UTC),  # 03:30 in New York
        "appointment_type": "comp exam",
        "notes": "first visit",
    }
    values.update(over)
    return AppointmentCreateData(**values)


def test_create_body_round_trips_across_the_spring_change() -> None:
    body, then = mapping.appointment_create_body(_booking(), reference="cmd-1", office=OFFICE, now_local=NOW)
    assert body == {
        "PatNum": 17,
        "Op": 2,
        "AptDateTime": "2026-03-08 01:30:00",
        "Pattern": "X" * 12,
        "AptStatus": "Scheduled",
        "Note": "first visit [pms-relay:ref=cmd-1]",
        "ClinicNum": 1,
        "ProvNum": 1,
        "AppointmentTypeNum": 1,
    }
    assert then == StatusWrite({})
    back = mapping.appointment_from_od({**body, "AptNum": 1}, OFFICE)
    assert (back.start, back.end, back.external_reference) == (_booking().start, _booking().end, "cmd-1")


def test_a_start_in_the_second_pass_of_the_repeated_hour_is_refused() -> None:
    second_pass = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, after the fall-back
    with pytest.raises(ValueError, match="start"):
        mapping.appointment_create_body(
            _booking(start=second_pass, end=second_pass + timedelta(minutes=30)),
            reference="cmd-1",
            office=OFFICE,
            now_local=NOW,
        )


@pytest.mark.parametrize(
    ("over", "named"),
    [
        ({"end": datetime(2026, 3, 8, 7, 2, tzinfo=UTC)}, "end"),  # 32 minutes
        ({"appointment_type": "Tooth Whitening"}, "appointment_type"),
        ({"patient_id": "p-17"}, "patient_id"),
        ({"operatory_id": "OP2"}, "operatory_id"),
        ({"status": AppointmentStatus.CANCELLED}, "status"),
    ],
)
def test_create_body_refuses(over: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        mapping.appointment_create_body(_booking(**over), reference="cmd-1", office=OFFICE, now_local=NOW)


def test_create_in_an_office_without_clinics_names_no_clinic_and_a_confirmation_follows() -> None:
    office = Office(default_zone=NY, location_of={"2": "0"}, confirmed_def=21)
    body, then = mapping.appointment_create_body(
        _booking(location_id="0", appointment_type=None, status=AppointmentStatus.CONFIRMED),
        reference="cmd-1",
        office=office,
        now_local=NOW,
    )
    assert "ClinicNum" not in body
    assert "AppointmentTypeNum" not in body
    assert then == StatusWrite({}, confirm="Confirmed")


@pytest.mark.parametrize(
    ("updates", "location", "expected"),
    [
        (AppointmentUpdateData(notes="moved"), "1", {"Note": "moved [pms-relay:ref=cmd-2]"}),
        (
            AppointmentUpdateData(start=datetime(2026, 7, 1, 12, 30, tzinfo=UTC)),
            "1",
            # the end stays where it was: the pattern grows to the new length
            {"AptDateTime": "2026-07-01 08:30:00", "Pattern": "X" * 14, "Note": "[pms-relay:ref=cmd-2]"},
        ),
        (
            AppointmentUpdateData(
                start=datetime(2026, 7, 2, 13, 0, tzinfo=UTC), end=datetime(2026, 7, 2, 13, 40, tzinfo=UTC)
            ),
            "1",
            {"AptDateTime": "2026-07-02 09:00:00", "Note": "[pms-relay:ref=cmd-2]"},
        ),
        (
            AppointmentUpdateData(operatory_id="5"),
            "2",
            # another clinic in another zone: the same instant is 08:00 on Chicago's wall
            {"AptDateTime": "2026-07-01 08:00:00", "Op": 5, "ClinicNum": 2, "Note": "[pms-relay:ref=cmd-2]"},
        ),
        (
            AppointmentUpdateData(status=AppointmentStatus.CANCELLED, provider_id="2"),
            "1",
            {"ProvNum": 2, "AptStatus": "UnschedList", "Note": "[pms-relay:ref=cmd-2]"},
        ),
    ],
)
def test_update_body_sends_only_what_changes(
    updates: AppointmentUpdateData, location: str, expected: dict[str, Any]
) -> None:
    body, _ = mapping.appointment_update_body(
        _appt(), updates, reference="cmd-2", office=OFFICE, location_id=location, now_local=NOW
    )
    assert body == expected


def test_update_keeps_the_notes_and_replaces_the_marker_and_breaks_after() -> None:
    current = _appt(Note="allergic to latex [pms-relay:ref=cmd-1]")
    body, then = mapping.appointment_update_body(
        current,
        AppointmentUpdateData(status=AppointmentStatus.NO_SHOW),
        reference="cmd-2",
        office=OFFICE,
        location_id="1",
        now_local=NOW,
    )
    assert body == {"Note": "allergic to latex [pms-relay:ref=cmd-2]"}
    assert then == StatusWrite({}, break_type="Missed")


def test_update_refuses_an_end_before_the_start() -> None:
    with pytest.raises(ValueError, match="end"):
        mapping.appointment_update_body(
            _appt(),
            AppointmentUpdateData(start=datetime(2026, 7, 1, 15, 0, tzinfo=UTC)),
            reference="cmd-2",
            office=OFFICE,
            location_id="1",
            now_local=NOW,
        )


@pytest.mark.parametrize(
    ("start", "end", "date_start", "date_end"),
    [
        (
            datetime(2026, 7, 1, 4, tzinfo=UTC),
            datetime(2026, 7, 2, 4, tzinfo=UTC),
            "2026-06-30",
            "2026-07-03",
        ),
        (
            datetime(2026, 3, 8, 5, tzinfo=UTC),
            datetime(2026, 3, 9, 4, tzinfo=UTC),
            "2026-03-07",
            "2026-03-10",
        ),
    ],
)
def test_range_params_are_whole_local_days_a_day_wider(
    start: datetime, end: datetime, date_start: str, date_end: str
) -> None:
    assert mapping.appointment_range_params(start, end, NY) == {"dateStart": date_start, "dateEnd": date_end}


# ---- clinics and operatories -----------------------------------------------------------------------------


def test_clinics_are_locations_and_hidden_ones_are_not() -> None:
    clinic = {
        "ClinicNum": 2,
        "Description": "Riverside Chicago",
        "City": "Chicago",
        "Phone": "",
        "IsHidden": "false",
    }
    location = mapping.location_from_clinic(clinic, time_zone="America/Chicago")
    assert location is not None
    assert (location.id, location.name, location.time_zone, location.phone) == (
        "2",
        "Riverside Chicago",
        "America/Chicago",
        None,
    )
    assert location.address == Address(city="Chicago")
    assert mapping.location_from_clinic({**clinic, "IsHidden": "true"}, time_zone="America/Chicago") is None


def test_an_office_without_clinics_is_one_location() -> None:
    assert mapping.office_location("Aspen", "America/Denver").model_dump() == {
        "id": "0",
        "name": "Aspen",
        "time_zone": "America/Denver",
        "phone": None,
        "address": None,
    }


@pytest.mark.parametrize(
    ("row", "uses_clinics", "location", "active"),
    [
        ({"IsHidden": "false", "ClinicNum": 2}, True, "2", True),
        ({"IsHidden": "true", "ClinicNum": 2}, True, "2", False),
        ({"IsHidden": "false", "ClinicNum": 0}, False, "0", True),
        (
            {"IsHidden": "false", "ClinicNum": 3},
            False,
            "0",
            True,
        ),  # a stray ClinicNum in an office without clinics
    ],
)
def test_operatories(row: dict[str, Any], uses_clinics: bool, location: str, active: bool) -> None:
    op = mapping.operatory_from_od(
        {"OperatoryNum": 4, "OpName": "Op 4", "Abbrev": "OP4", **row}, uses_clinics=uses_clinics
    )
    assert (op.id, op.location_id, op.name, op.short_name, op.active) == (
        "4",
        location,
        "Op 4",
        "OP4",
        active,
    )


# ---- patients --------------------------------------------------------------------------------------------

_PATIENT = {
    "PatNum": 48,
    "LName": "Smith",
    "FName": "Jane",
    "MiddleI": "",
    "Preferred": "Janie",
    "PatStatus": "Patient",
    "Gender": "Female",
    "Birthdate": "1976-05-24",
    "Address": "125 Satin Heights",
    "Address2": "",
    "City": "San Jose",
    "State": "CA",
    "Zip": "97301",
    "HmPhone": "(536)624-5871",
    "WkPhone": "",
    "WirelessPhone": "(536)987-4822",
    "Email": "smithfam@example.com",
    "ChartNumber": "",
    "AddrNote": "gate code 12 [pms-relay:ref=cmd-1]",
}


def test_a_patient_reads_every_field() -> None:
    patient = mapping.patient_from_od(_PATIENT)
    assert (patient.id, patient.first_name, patient.middle_name, patient.preferred_name) == (
        "48",
        "Jane",
        None,
        "Janie",
    )
    assert (patient.gender, patient.status, patient.date_of_birth) == (
        Gender.FEMALE,
        PatientStatus.ACTIVE,
        date(1976, 5, 24),
    )
    assert patient.phones == (
        Phone(number="(536)987-4822", type=PhoneType.MOBILE),
        Phone(number="(536)624-5871", type=PhoneType.HOME),
    )
    assert patient.address == Address(
        line1="125 Satin Heights", city="San Jose", state="CA", postal_code="97301"
    )
    assert (patient.chart_number, patient.external_reference) == (None, "cmd-1")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Patient", PatientStatus.ACTIVE),
        ("NonPatient", PatientStatus.NON_PATIENT),
        ("Inactive", PatientStatus.INACTIVE),
        ("Archived", PatientStatus.INACTIVE),
        ("Deceased", PatientStatus.INACTIVE),
        ("Prospective", PatientStatus.NEW),
    ],
)
def test_patient_statuses(status: str, expected: PatientStatus) -> None:
    assert mapping.patient_from_od({**_PATIENT, "PatStatus": status}).status is expected


@pytest.mark.parametrize(
    ("gender", "expected"),
    [
        ("Male", Gender.MALE),
        ("Female", Gender.FEMALE),
        ("Other", Gender.OTHER),
        ("Unknown", Gender.UNKNOWN),
        ("", Gender.UNKNOWN),
    ],
)
def test_genders(gender: str, expected: Gender) -> None:
    assert mapping.patient_from_od({**_PATIENT, "Gender": gender}).gender is expected


def test_patient_search_params() -> None:
    query = PatientSearchQuery(
        first_name="Ja",
        last_name="Smi",
        date_of_birth=date(1976, 5, 24),
        phone="+1 (536) 987-4822",
        email="j@example.com",
    )
    assert mapping.patient_search_params(query) == {
        "LName": "Smi",
        "FName": "Ja",
        "Birthdate": "1976-05-24",
        "Email": "j@example.com",
        "Phone": "5369874822",
    }


def test_patient_create_body() -> None:
    data = PatientCreateData(
        first_name="Marisol",
        last_name="Quintero",
        date_of_birth=date(1987, 5, 14),
        phones=(Phone(number="555-010-7788", type=PhoneType.MOBILE), Phone(number="555-010-0000")),
        email="mq@example.com",
        address=Address(line1="1 Main St", city="Denver"),
        preferred_location_id="2",
    )
    assert mapping.patient_create_body(data, reference="cmd-1") == {
        "FName": "Marisol",
        "LName": "Quintero",
        "Birthdate": "1987-05-14",
        "Email": "mq@example.com",
        "PatStatus": "Patient",
        "Gender": "Unknown",
        "WirelessPhone": "555-010-7788",
        "HmPhone": "555-010-0000",  # OTHER takes the first free column
        "Address": "1 Main St",
        "City": "Denver",
        "ClinicNum": 2,
        "AddrNote": "[pms-relay:ref=cmd-1]",
    }


def test_patient_update_body_is_partial() -> None:
    updates = PatientUpdateData(
        email="moved@example.org", status=PatientStatus.INACTIVE, gender=Gender.UNKNOWN
    )
    assert mapping.patient_update_body(_PATIENT, updates, reference="cmd-2") == {
        "Email": "moved@example.org",
        "Gender": "Unknown",
        "PatStatus": "Inactive",
        "AddrNote": "gate code 12 [pms-relay:ref=cmd-2]",
    }
    replaced = mapping.patient_update_body(
        _PATIENT,
        PatientUpdateData(phones=(Phone(number="303-555-0142", type=PhoneType.WORK),)),
        reference="cmd-3",
    )
    assert {k: replaced[k] for k in ("WirelessPhone", "HmPhone", "WkPhone")} == {
        "WirelessPhone": "",
        "HmPhone": "",
        "WkPhone": "303-555-0142",
    }


def test_more_phones_than_columns_are_refused() -> None:
    phones = tuple(Phone(number=f"303-555-01{n:02d}") for n in range(4))
    with pytest.raises(ValueError, match="phones"):
        mapping.patient_update_body(_PATIENT, PatientUpdateData(phones=phones), reference="cmd-3")
