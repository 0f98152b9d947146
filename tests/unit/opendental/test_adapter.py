"""The Open Dental adapter's edge cases against a scriptable fake (``httpx.MockTransport``): paging, the key
pair, the pace and 429s, writes (201 + Location, partial PUTs, confirmations and breaks), outcomes left
unknown, double booking, clinics, hidden operatories, and the rows that are no appointments."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from adapters.domain import (
    AppointmentCreateData,
    AppointmentStatus,
    AppointmentUpdateData,
    DateRange,
    Patient,
    PatientCreateData,
    PatientSearchQuery,
    PatientUpdateData,
)
from adapters.errors import Conflict, NotFound, RateLimited, Unauthorized, Unavailable, ValidationFailed
from adapters.http import RetryPolicy
from adapters.opendental import OpenDentalAdapter, OpenDentalConfig
from tests.unit.opendental.fake_opendental import FakeOpenDental, text

# 2026-07-01 09:00 in New York (EDT, UTC-4)
T0 = datetime(2026, 7, 1, 13, 0, tzinfo=UTC)
EMPTY = "0001-01-01 00:00:00"


def _appt(apt_num: int, start: str, pattern: str = "XXXXXX", *, op: int = 2, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "AptNum": apt_num,
        "PatNum": 17,
        "AptStatus": "Scheduled",
        "Pattern": pattern,
        "Confirmed": 19,
        "Op": op,
        "Note": "",
        "ProvNum": 1,
        "AptDateTime": start,
        "ClinicNum": 1,
        "AppointmentTypeNum": 0,
        "DateTimeArrived": EMPTY,
        "DateTimeSeated": EMPTY,
        "DateTimeDismissed": EMPTY,
        "DateTStamp": "2026-06-20 10:00:00",
    }
    row.update(over)
    return row


def _seed() -> FakeOpenDental:
    fake = FakeOpenDental()
    fake.tables["clinics"] = [
        {"ClinicNum": 1, "Description": "Manhattan", "IsHidden": "false"},
        {"ClinicNum": 2, "Description": "Chicago", "IsHidden": "false"},
        {"ClinicNum": 3, "Description": "Brooklyn (closed)", "IsHidden": "true"},
    ]
    fake.tables["operatories"] = [
        {"OperatoryNum": n, "OpName": f"Op {n}", "Abbrev": f"OP{n}", "IsHidden": "true" if n == 4 else "false",
         "ClinicNum": 1 if n <= 4 else 2}
        for n in (1, 2, 3, 4, 5)
    ] + [{"OperatoryNum": 9, "OpName": "Old", "IsHidden": "false", "ClinicNum": 3}]  # fmt: skip
    fake.tables["appointmenttypes"] = [{"AppointmentTypeNum": 1, "AppointmentTypeName": "Comp Exam"}]
    fake.tables["preferences"] = [
        {"PrefName": "ApptEConfirmStatusAccepted", "ValueString": "21"},
        {"PrefName": "ProgramVersion", "ValueString": "24.3.36.0"},
    ]
    fake.tables["patients"] = [
        {"PatNum": 17 + i, "FName": f"Pat{i}", "LName": "Smith", "Birthdate": "1980-01-01", "AddrNote": ""}
        for i in range(5)
    ]
    fake.tables["appointments"] = [
        _appt(1, "2026-07-01 09:00:00"),
        _appt(2, "2026-07-01 12:00:00", op=1, AptStatus="PtNote"),
        _appt(3, "0001-01-01 00:00:00", op=0, AptStatus="Planned"),
        _appt(4, "2026-03-08 02:30:00", op=1),  # in the DST gap
        _appt(5, "2026-03-08 01:30:00", "X" * 12, op=1),  # straddles the change: 60 minutes
        _appt(6, "2026-07-01 10:00:00", AptStatus="Broken"),
    ]
    return fake


def _config(**over: Any) -> OpenDentalConfig:
    values: dict[str, Any] = {
        "base_url": "https://api.opendental.test",
        "developer_key": SecretStr("dev-key"),
        "customer_key": SecretStr("cust-key"),
        "time_zone": "America/New_York",
        "clinic_time_zones": {"2": "America/Chicago"},
        "page_size": 2,
        "rate_per_second": 1000.0,
    }
    values.update(over)
    return OpenDentalConfig(**values)


class _Sleeps:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
def fake() -> FakeOpenDental:
    return _seed()


@pytest.fixture
def sleeps() -> _Sleeps:
    return _Sleeps()


@pytest.fixture
async def adapter(fake: FakeOpenDental, sleeps: _Sleeps) -> AsyncIterator[OpenDentalAdapter]:
    adapter = OpenDentalAdapter(
        _config(),
        transport=fake.transport(),
        retry=RetryPolicy(base_delay=0, max_delay=0),
        sleep=sleeps,
        clock=lambda: T0,
    )
    yield adapter
    await adapter.close()


def _booking(**over: Any) -> AppointmentCreateData:
    values: dict[str, Any] = {
        "patient_id": "17",
        "location_id": "1",
        "operatory_id": "3",
        "provider_id": "1",
        "start": T0,
        "end": T0 + timedelta(minutes=30),
        "notes": "first visit",
    }
    values.update(over)
    return AppointmentCreateData(**values)


# ---- reading -----------------------------------------------------------------------------------------------


async def test_lists_page_through_every_page(adapter: OpenDentalAdapter, fake: FakeOpenDental) -> None:
    found = await adapter.search_patients(PatientSearchQuery(last_name="smi"))
    assert [p.id for p in found] == ["17", "18", "19", "20", "21"]
    pages = fake.sent("GET", "patients")
    assert [r.url.params["Offset"] for r in pages] == ["0", "2", "4"]
    assert {r.url.params["Limit"] for r in pages} == {"2"}


async def test_every_request_carries_the_key_pair(adapter: OpenDentalAdapter, fake: FakeOpenDental) -> None:
    await adapter.list_operatories()
    assert {r.headers["Authorization"] for r in fake.requests} == {"ODFHIR dev-key/cust-key"}


async def test_a_refused_key_pair_is_not_sent_again(fake: FakeOpenDental) -> None:
    adapter = OpenDentalAdapter(_config(customer_key=SecretStr("wrong")), transport=fake.transport())
    with pytest.raises(Unauthorized) as refused:
        await adapter.list_locations()
    await adapter.close()
    assert refused.value.http_status == 401
    assert len(fake.requests) == 1


async def test_clinics_are_locations_and_hidden_ones_hide_their_operatories(
    adapter: OpenDentalAdapter,
) -> None:
    locations = {loc.id: loc.time_zone for loc in await adapter.list_locations()}
    assert locations == {"1": "America/New_York", "2": "America/Chicago"}
    operatories = {op.id: (op.location_id, op.active) for op in await adapter.list_operatories()}
    assert operatories == {
        "1": ("1", True),
        "2": ("1", True),
        "3": ("1", True),
        "4": ("1", False),
        "5": ("2", True),
    }


async def test_an_office_without_clinics_is_one_location(fake: FakeOpenDental) -> None:
    fake.tables["clinics"] = []
    adapter = OpenDentalAdapter(_config(office_name="Aspen"), transport=fake.transport())
    locations = await adapter.list_locations()
    assert [(loc.id, loc.name, loc.time_zone) for loc in locations] == [("0", "Aspen", "America/New_York")]
    assert {op.location_id for op in await adapter.list_operatories()} == {"0"}
    await adapter.close()


async def test_static_lists_are_cached(adapter: OpenDentalAdapter, fake: FakeOpenDental) -> None:
    for _ in range(3):
        await adapter.list_locations()
        await adapter.list_operatories()
    # pages of 2: three clinics on two pages; six operatories on three full pages and the empty one after them
    assert (len(fake.sent("GET", "clinics")), len(fake.sent("GET", "operatories"))) == (2, 4)


async def test_rows_that_are_no_appointment_and_gap_times_are_never_listed(
    adapter: OpenDentalAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    spring = DateRange(start=datetime(2026, 3, 8, 5, tzinfo=UTC), end=datetime(2026, 3, 9, 4, tzinfo=UTC))
    listed = await adapter.list_appointments("1", spring)
    assert [(a.id, a.duration_minutes) for a in listed] == [("5", 60)]
    assert "appointment_id=4" in caplog.text
    day = DateRange(start=T0 - timedelta(hours=9), end=T0 + timedelta(hours=11))
    assert [(a.id, a.status) for a in await adapter.list_appointments(None, day)] == [
        ("1", AppointmentStatus.SCHEDULED),
        ("6", AppointmentStatus.BROKEN),
    ]


async def test_listing_an_unknown_location_is_not_found(adapter: OpenDentalAdapter) -> None:
    with pytest.raises(NotFound):
        await adapter.list_appointments("3", DateRange(start=T0, end=T0 + timedelta(hours=1)))


# ---- the pace --------------------------------------------------------------------------------------------


def test_the_default_pace_is_one_request_a_second() -> None:
    config = OpenDentalConfig(
        base_url="https://api.opendental.test",
        developer_key=SecretStr("d"),
        customer_key=SecretStr("c"),
        time_zone="America/New_York",
    )
    assert (config.rate_per_second, config.page_size) == (1.0, 100)


async def test_requests_are_spaced_at_the_rate(fake: FakeOpenDental) -> None:
    arrivals: list[float] = []

    def stamp(request: httpx.Request) -> None:
        arrivals.append(time.monotonic())

    fake.overrides[("GET", "patients")] = stamp  # type: ignore[assignment]
    adapter = OpenDentalAdapter(_config(rate_per_second=20.0, page_size=1), transport=fake.transport())
    await adapter.search_patients(PatientSearchQuery(last_name="Smith", limit=500))
    await adapter.close()
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert len(arrivals) == 6  # five patients, one a page, and the empty page after them
    assert min(gaps) >= 0.045  # 1/20 s apart, less a little scheduling slack


async def test_a_short_retry_after_is_waited_out_in_call(
    adapter: OpenDentalAdapter, fake: FakeOpenDental, sleeps: _Sleeps
) -> None:
    answers = iter([text(429, "Too many requests.", {"Retry-After": "1"})])
    fake.overrides[("GET", "patients")] = lambda request: next(answers, None)
    found = await adapter.search_patients(PatientSearchQuery(last_name="Smith", limit=1))
    assert [p.id for p in found] == ["17"]
    assert sleeps.seconds == [1.0]
    assert len(fake.sent("GET", "patients")) == 2


async def test_a_long_retry_after_is_raised(adapter: OpenDentalAdapter, fake: FakeOpenDental) -> None:
    fake.overrides[("GET", "patients")] = lambda request: text(
        429, "Too many requests.", {"Retry-After": "30"}
    )
    with pytest.raises(RateLimited) as limited:
        await adapter.search_patients(PatientSearchQuery(last_name="Smith"))
    assert (limited.value.retry_after, limited.value.retryable) == (30.0, True)
    assert len(fake.sent("GET", "patients")) == 1


# ---- writes ----------------------------------------------------------------------------------------------


async def test_create_appointment_posts_and_uses_the_record_answered(
    adapter: OpenDentalAdapter, fake: FakeOpenDental
) -> None:
    created = await adapter.create_appointment(_booking(appointment_type="Comp Exam"), reference="cmd-1")
    assert (created.start, created.end, created.operatory_id) == (T0, T0 + timedelta(minutes=30), "3")
    assert (created.appointment_type, created.notes, created.external_reference) == (
        "Comp Exam",
        "first visit",
        "cmd-1",
    )
    (post,) = fake.sent("POST", "appointments")
    assert post.read().decode().count("2026-07-01 09:00:00") == 1
    assert fake.sent("GET", "appointments")[-1].url.params["Op"] == "3"  # the double-booking check


async def test_a_bare_201_is_followed_to_its_location(
    adapter: OpenDentalAdapter, fake: FakeOpenDental
) -> None:
    fake.bare_writes = True
    created = await adapter.create_patient(
        PatientCreateData(first_name="Ada", last_name="Byron", date_of_birth=date(1985, 12, 10)),
        reference="cmd-1",
    )
    assert (created.first_name, created.external_reference) == ("Ada", "cmd-1")
    assert fake.sent("GET", "patients")[-1].url.path == f"/api/v1/patients/{created.id}"


async def test_a_confirmed_booking_is_confirmed_after_it_is_created(
    adapter: OpenDentalAdapter, fake: FakeOpenDental
) -> None:
    created = await adapter.create_appointment(
        _booking(status=AppointmentStatus.CONFIRMED), reference="cmd-1"
    )
    assert created.status is AppointmentStatus.CONFIRMED
    (confirm,) = fake.sent("PUT", "appointments")
    assert confirm.url.path.endswith("/Confirm")
    assert confirm.read() == b'{"confirmVal":"Confirmed"}'


@pytest.mark.parametrize(
    ("slot", "conflict"),
    [
        ((T0 + timedelta(minutes=15), 30), True),  # overlaps appointment 1 (09:00-09:30)
        ((T0 + timedelta(minutes=30), 30), False),  # starts as it ends
        ((T0 + timedelta(hours=1), 30), False),  # appointment 6 is broken: its slot is free
    ],
)
async def test_double_booking_is_refused_before_writing(
    adapter: OpenDentalAdapter, fake: FakeOpenDental, slot: tuple[datetime, int], conflict: bool
) -> None:
    start, minutes = slot
    booking = _booking(operatory_id="2", start=start, end=start + timedelta(minutes=minutes))
    if conflict:
        with pytest.raises(Conflict, match="appointment 1"):
            await adapter.create_appointment(booking, reference="cmd-1")
        assert fake.sent("POST") == []
    else:
        await adapter.create_appointment(booking, reference="cmd-1")


async def test_a_note_on_the_schedule_does_not_block_a_booking(adapter: OpenDentalAdapter) -> None:
    noon = datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    booked = await adapter.create_appointment(
        _booking(operatory_id="1", start=noon, end=noon + timedelta(minutes=30)), reference="cmd-1"
    )
    assert booked.start == noon


@pytest.mark.parametrize(
    ("over", "named"),
    [
        ({"operatory_id": "4"}, "hidden"),
        ({"operatory_id": "5"}, "location 1"),
        ({"operatory_id": "77"}, "known"),
    ],
)
async def test_bookings_into_hidden_foreign_or_unknown_operatories_are_refused(
    adapter: OpenDentalAdapter, fake: FakeOpenDental, over: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationFailed, match=named):
        await adapter.create_appointment(_booking(**over), reference="cmd-1")
    assert fake.sent("POST") == []


async def test_update_puts_only_what_changes(adapter: OpenDentalAdapter, fake: FakeOpenDental) -> None:
    updated = await adapter.update_appointment(
        "1", AppointmentUpdateData(provider_id="2", notes="bring x-rays"), reference="cmd-2"
    )
    (put,) = fake.sent("PUT", "appointments")
    assert put.read() == b'{"ProvNum":2,"Note":"bring x-rays [pms-relay:ref=cmd-2]"}'
    assert (updated.provider_id, updated.start, updated.external_reference) == ("2", T0, "cmd-2")


async def test_a_move_is_checked_for_double_booking(adapter: OpenDentalAdapter, fake: FakeOpenDental) -> None:
    fake.tables["appointments"].append(_appt(7, "2026-07-01 11:00:00"))
    with pytest.raises(Conflict, match="appointment 7"):
        await adapter.update_appointment(
            "1",
            AppointmentUpdateData(start=T0 + timedelta(hours=2), end=T0 + timedelta(hours=2, minutes=30)),
            reference="cmd-2",
        )
    assert fake.sent("PUT") == []


async def test_a_no_show_is_a_break(adapter: OpenDentalAdapter, fake: FakeOpenDental) -> None:
    updated = await adapter.update_appointment(
        "1", AppointmentUpdateData(status=AppointmentStatus.NO_SHOW), reference="cmd-2"
    )
    put, brk = fake.sent("PUT", "appointments")
    assert put.read() == b'{"Note":"[pms-relay:ref=cmd-2]"}'
    assert (brk.url.path, brk.read()) == ("/api/v1/appointments/1/Break", b'{"breakType":"Missed"}')
    assert updated.status is AppointmentStatus.BROKEN  # Open Dental's one broken status


async def test_a_failed_confirmation_leaves_the_outcome_unknown(
    adapter: OpenDentalAdapter, fake: FakeOpenDental
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response | None:
        return text(500, "An unexpected error occurred.") if request.url.path.endswith("/Confirm") else None

    fake.overrides[("PUT", "appointments")] = refuse
    with pytest.raises(Unavailable) as failed:
        await adapter.update_appointment(
            "1", AppointmentUpdateData(status=AppointmentStatus.CONFIRMED), reference="cmd-2"
        )
    assert failed.value.outcome_unknown  # the notes were written, the confirmation may or may not have been


async def test_a_504_on_a_write_is_outcome_unknown_and_not_resent(
    adapter: OpenDentalAdapter, fake: FakeOpenDental
) -> None:
    fake.overrides[("POST", "appointments")] = lambda request: text(
        504, "The request timed out after 60 seconds."
    )
    with pytest.raises(Unavailable) as timed_out:
        await adapter.create_appointment(_booking(), reference="cmd-1")
    assert (timed_out.value.outcome_unknown, timed_out.value.http_status) == (True, 504)
    assert len(fake.sent("POST", "appointments")) == 1


async def test_plain_text_400_and_404(adapter: OpenDentalAdapter, fake: FakeOpenDental) -> None:
    fake.overrides[("POST", "patients")] = lambda request: text(400, "Birthdate is not a valid date.")
    with pytest.raises(ValidationFailed) as invalid:
        await adapter.create_patient(
            PatientCreateData(first_name="A", last_name="B", date_of_birth=date(1990, 1, 1)),
            reference="cmd-1",
        )
    assert "Birthdate" not in invalid.value.message  # the explanation is never copied
    with pytest.raises(NotFound):
        await adapter.update_patient("404", PatientUpdateData(email="x@example.org"), reference="cmd-2")


async def test_a_planned_appointment_is_not_on_the_schedule(adapter: OpenDentalAdapter) -> None:
    with pytest.raises(NotFound, match="planned"):
        await adapter.update_appointment("3", AppointmentUpdateData(notes="x"), reference="cmd-2")


# ---- reconciliation and health ---------------------------------------------------------------------------


async def test_find_by_reference_reads_recent_changes(
    adapter: OpenDentalAdapter, fake: FakeOpenDental
) -> None:
    fake.tables["patients"][1]["AddrNote"] = "[pms-relay:ref=cmd-9]"
    fake.tables["appointments"][2]["Note"] = "[pms-relay:ref=cmd-9]"  # a planned one: no appointment
    found = await adapter.find_by_reference("cmd-9")
    assert isinstance(found, Patient)
    assert found.id == "18"
    stamps = {r.url.params["DateTStamp"] for r in fake.requests if "DateTStamp" in r.url.params}
    assert stamps == {"2026-06-24 09:00:00"}  # a week before now, on the office's clock
    assert fake.sent("GET", "patients")[-1].url.path == "/api/v1/patients/Simple"
    assert await adapter.find_by_reference("cmd-404") is None


async def test_validate_connection_reports_the_version(
    adapter: OpenDentalAdapter, fake: FakeOpenDental
) -> None:
    status = await adapter.validate_connection()
    assert (status.ok, status.version, status.writable) == (True, "24.3.36.0", True)
    fake.overrides[("GET", "preferences")] = lambda request: text(401, "Invalid DeveloperKey or CustomerKey.")
    failed = await adapter.validate_connection()
    assert (failed.ok, failed.writable) == (False, False)
    assert failed.detail is not None
    assert "UNAUTHORIZED" in failed.detail
