from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from adapters.deadline import deadline_scope
from adapters.domain import (
    Appointment,
    AppointmentCreateData,
    AppointmentStatus,
    AppointmentUpdateData,
    DateRange,
    PatientCreateData,
    PatientSearchQuery,
)
from adapters.eaglesoft import EaglesoftAdapter, EaglesoftConfig
from adapters.errors import (
    Conflict,
    NotFound,
    PMSError,
    Unavailable,
    Unsupported,
    ValidationFailed,
)
from adapters.http import RetryPolicy
from tests.unit.eaglesoft.fake_eaglesoft import PRACTICE, FakeEaglesoft

# 2026-07-01 09:00 in Chicago (CDT, UTC-5)
T0 = datetime(2026, 7, 1, 14, 0, tzinfo=UTC)


def _appt(appt_id: int, start: str, end: str, *, chair: int = 2, **over: Any) -> dict[str, Any]:
    row = {
        "AppointmentId": appt_id,
        "PatientId": "1001",
        "PracticeId": 1,
        "LocationId": chair,
        "StartTime": start,
        "EndTime": end,
        "Classification": 1,
        "Description": "Comp Exam",
        "AppointmentNotes": None,
        "ConfirmationStatus": 0,
        "AppointmentArrivalStatus": 0,
        "Providers": [{"ProviderId": "DDS1", "Primary": "Y"}],
    }
    row.update(over)
    return row


def _seed() -> FakeEaglesoft:
    fake = FakeEaglesoft()
    fake.tables["practices"] = [
        {"PracticeId": 1, "Name": "Lakeside", "City": "Chicago"},
        {"PracticeId": 2, "Name": "Hudson", "City": "New York"},
    ]
    fake.tables["chairs"] = [
        {"ChairNum": n, "ChairName": f"Chair {n}", "PracticeId": 1, "Hidden": "Y" if n == 4 else "N"}
        for n in (1, 2, 3, 4)
    ]
    fake.tables["patients"] = [
        {"PatientId": 1001 + i, "FirstName": f"Pat{i}", "LastName": "Smith", "BirthDate": "1980-01-01"}
        for i in range(5)
    ]
    fake.tables["appointments"] = [
        _appt(50001, "2026-07-01T09:00:00", "2026-07-01T09:30:00"),
        _appt(50002, "2026-07-01T12:00:00", "2026-07-01T13:00:00", chair=1, Classification=2, PatientId=None),
        _appt(50003, "2026-03-08T02:30:00", "2026-03-08T03:00:00"),  # in the DST gap
        _appt(50004, "2026-03-08T01:30:00", "2026-03-08T03:30:00"),  # straddles the change: 60 minutes
    ]
    return fake


def _config(**over: Any) -> EaglesoftConfig:
    values: dict[str, Any] = {
        "base_url": "http://es.test",
        "practice_id": PRACTICE,
        "integration_key": SecretStr("key"),
        "user_id": "relay",
        "password": SecretStr("pw"),
        "time_zone": "America/Chicago",
        "location_time_zones": {"2": "America/New_York"},
        "page_size": 2,
        "rate_per_second": 1000.0,
        "write_poll_initial_seconds": 0.005,
        "write_poll_max_seconds": 0.02,
        "write_timeout_seconds": 5.0,
    }
    values.update(over)
    return EaglesoftConfig(**values)


@pytest.fixture
def fake() -> FakeEaglesoft:
    return _seed()


@pytest.fixture
async def adapter(fake: FakeEaglesoft) -> AsyncIterator[EaglesoftAdapter]:
    adapter = EaglesoftAdapter(
        _config(), transport=fake.transport(), retry=RetryPolicy(base_delay=0, max_delay=0)
    )
    yield adapter
    await adapter.close()


def _booking(**over: Any) -> AppointmentCreateData:
    values: dict[str, Any] = {
        "patient_id": "1001",
        "location_id": "1",
        "operatory_id": "3",
        "provider_id": "DDS1",
        "start": T0,
        "end": T0 + timedelta(minutes=30),
        "notes": "first visit",
    }
    values.update(over)
    return AppointmentCreateData(**values)


async def test_lists_page_through_every_page(adapter: EaglesoftAdapter, fake: FakeEaglesoft) -> None:
    found = await adapter.search_patients(PatientSearchQuery(last_name="Smi"))
    assert [p.id for p in found] == ["1001", "1002", "1003", "1004", "1005"]
    pages = fake.data_requests("GET", "patients")
    assert [r.url.params["PageNumber"] for r in pages] == ["1", "2", "3"]
    assert {r.url.params["PageSize"] for r in pages} == {"2"}


async def test_search_stops_at_the_limit(adapter: EaglesoftAdapter, fake: FakeEaglesoft) -> None:
    found = await adapter.search_patients(PatientSearchQuery(last_name="Smith", limit=3))
    assert len(found) == 3
    assert len(fake.data_requests("GET", "patients")) == 2


async def test_every_call_carries_practice_and_session(
    adapter: EaglesoftAdapter, fake: FakeEaglesoft
) -> None:
    await adapter.list_locations()
    await adapter.list_operatories()
    assert all(r.headers["X-Practice-Id"] == PRACTICE for r in fake.requests)
    assert all(r.headers["X-Session-Token"] == "s1" for r in fake.data_requests())


async def test_expired_session_is_answered_by_one_login(
    adapter: EaglesoftAdapter, fake: FakeEaglesoft
) -> None:
    await adapter.list_locations()
    fake.revoke()
    await adapter.list_operatories()
    assert fake.logins == 2


async def test_locations_are_practices_with_configured_zones(adapter: EaglesoftAdapter) -> None:
    zones = {loc.id: loc.time_zone for loc in await adapter.list_locations()}
    assert zones == {"1": "America/Chicago", "2": "America/New_York"}


async def test_hidden_chairs_are_not_operatories(adapter: EaglesoftAdapter) -> None:
    assert [op.id for op in await adapter.list_operatories("1")] == ["1", "2", "3"]
    assert await adapter.list_operatories("2") == []


async def test_static_lists_are_cached(adapter: EaglesoftAdapter, fake: FakeEaglesoft) -> None:
    for _ in range(3):
        await adapter.list_locations()
        await adapter.list_operatories()
    # one page of practices, two pages of chairs
    assert len(fake.data_requests("GET", "practices")) == 3


async def test_blocks_and_gap_times_are_never_listed(
    adapter: EaglesoftAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    day = DateRange(start=datetime(2026, 3, 8, 6, tzinfo=UTC), end=datetime(2026, 3, 9, 6, tzinfo=UTC))
    listed = await adapter.list_appointments("1", day)
    assert [a.id for a in listed] == ["50004"]
    assert listed[0].duration_minutes == 60
    assert "appointment_id=50003" in caplog.text
    summer = DateRange(start=T0 - timedelta(hours=6), end=T0 + timedelta(hours=6))
    assert [a.id for a in await adapter.list_appointments(None, summer)] == ["50001"]


async def test_list_of_another_practice_is_not_found(adapter: EaglesoftAdapter) -> None:
    with pytest.raises(NotFound):
        await adapter.list_appointments("2", DateRange(start=T0, end=T0 + timedelta(hours=1)))


async def test_create_appointment_polls_then_reads_back(
    adapter: EaglesoftAdapter, fake: FakeEaglesoft
) -> None:
    created = await adapter.create_appointment(_booking(), reference="cmd-1")
    assert (created.start, created.end, created.operatory_id) == (T0, T0 + timedelta(minutes=30), "3")
    assert (created.notes, created.external_reference) == ("first visit", "cmd-1")
    assert len(fake.data_requests("GET", "writes")) == 2  # Pending, then Completed
    (post,) = fake.data_requests("POST", "appointments")
    assert (post.url.path, fake.writes["w1"].body["StartTime"]) == (
        "/api/v1/appointments",
        "2026-07-01T09:00:00",
    )  # type: ignore[index]


@pytest.mark.parametrize(
    ("start", "minutes", "blocker"),
    [
        ("2026-07-01T09:15:00", 30, "appointment 50001"),
        ("2026-07-01T12:30:00", 60, "schedule block 50002"),
    ],
)
async def test_double_booking_is_refused_before_writing(
    adapter: EaglesoftAdapter, fake: FakeEaglesoft, start: str, minutes: int, blocker: str
) -> None:
    chair = "1" if "block" in blocker else "2"
    local = datetime.fromisoformat(start) + timedelta(hours=5)
    begin = local.replace(tzinfo=UTC)
    with pytest.raises(Conflict, match=blocker):
        await adapter.create_appointment(
            _booking(operatory_id=chair, start=begin, end=begin + timedelta(minutes=minutes)),
            reference="cmd-2",
        )
    assert fake.data_requests("POST") == []


async def test_hidden_or_unknown_chair_is_refused_before_writing(
    adapter: EaglesoftAdapter, fake: FakeEaglesoft
) -> None:
    for chair in ("4", "99"):
        with pytest.raises(ValidationFailed, match="operatory"):
            await adapter.create_appointment(_booking(operatory_id=chair), reference="cmd-3")
    assert fake.data_requests("POST") == []


async def test_a_time_in_the_repeated_hour_that_would_not_read_back_is_refused(
    adapter: EaglesoftAdapter, fake: FakeEaglesoft
) -> None:
    second_pass = datetime(2026, 11, 1, 7, 30, tzinfo=UTC)  # 01:30 CST, after 01:30 CDT
    with pytest.raises(ValidationFailed, match="start"):
        await adapter.create_appointment(
            _booking(start=second_pass, end=second_pass + timedelta(hours=1)), reference="cmd-4"
        )
    assert fake.data_requests("POST") == []


async def test_write_failed_later_is_raised_by_its_code(
    adapter: EaglesoftAdapter, fake: FakeEaglesoft
) -> None:
    fake.fates = ["failed:InvalidPatient", "failed:RecordLocked"]
    with pytest.raises(ValidationFailed) as invalid:
        await adapter.create_appointment(_booking(), reference="cmd-5")
    assert not invalid.value.retryable
    assert not invalid.value.outcome_unknown
    with pytest.raises(Unavailable) as locked:
        await adapter.create_appointment(_booking(), reference="cmd-6")
    assert locked.value.retryable
    assert not locked.value.outcome_unknown
    assert await adapter.find_by_reference("cmd-5") is None


async def test_write_pending_past_the_deadline_is_outcome_unknown_then_reconciled(
    adapter: EaglesoftAdapter, fake: FakeEaglesoft
) -> None:
    fake.fates = ["stuck"]
    with pytest.raises(PMSError) as unknown, deadline_scope(seconds=0.3):
        await adapter.create_appointment(_booking(), reference="cmd-7")
    assert unknown.value.outcome_unknown
    assert unknown.value.retryable
    assert await adapter.find_by_reference("cmd-7") is None  # not applied yet
    fake.settle_stuck()
    found = await adapter.find_by_reference("cmd-7")
    assert isinstance(found, Appointment)
    assert (found.start, found.operatory_id) == (T0, "3")


async def test_writes_need_version_18(fake: FakeEaglesoft) -> None:
    fake.version = "17.00.02"
    adapter = EaglesoftAdapter(_config(), transport=fake.transport())
    try:
        status = await adapter.validate_connection()
        assert (status.ok, status.version, status.writable) == (True, "17.00.02", False)
        with pytest.raises(Unsupported):
            await adapter.create_appointment(_booking(), reference="cmd-8")
        with pytest.raises(Unsupported):
            await adapter.create_patient(
                PatientCreateData(first_name="A", last_name="B", date_of_birth=datetime(1990, 1, 1).date()),
                reference="cmd-9",
            )
        assert fake.data_requests("POST") == []
    finally:
        await adapter.close()


async def test_validate_connection_reports_version(adapter: EaglesoftAdapter) -> None:
    status = await adapter.validate_connection()
    assert (status.ok, status.version, status.writable) == (True, "21.20.05", True)


async def test_validate_connection_with_bad_credentials_is_not_ok(fake: FakeEaglesoft) -> None:
    adapter = EaglesoftAdapter(_config(password=SecretStr("wrong")), transport=fake.transport())
    try:
        status = await adapter.validate_connection()
        assert not status.ok
        assert not status.writable
        assert "wrong" not in (status.detail or "")
    finally:
        await adapter.close()


async def test_cancel_deletes_the_appointment(adapter: EaglesoftAdapter, fake: FakeEaglesoft) -> None:
    cancelled = await adapter.update_appointment(
        "50001", AppointmentUpdateData(status=AppointmentStatus.CANCELLED), reference="cmd-10"
    )
    assert (cancelled.id, cancelled.status) == ("50001", AppointmentStatus.CANCELLED)
    assert len(fake.data_requests("DELETE", "appointments")) == 1
    with pytest.raises(NotFound):
        await adapter.update_appointment("50001", AppointmentUpdateData(notes="x"), reference="cmd-11")


async def test_move_checks_the_new_slot_but_not_itself(
    adapter: EaglesoftAdapter, fake: FakeEaglesoft
) -> None:
    moved = await adapter.update_appointment(
        "50001", AppointmentUpdateData(end=T0 + timedelta(minutes=45)), reference="cmd-12"
    )
    assert moved.duration_minutes == 45
    fake.tables["appointments"].append(_appt(50010, "2026-07-01T10:00:00", "2026-07-01T10:30:00"))
    with pytest.raises(Conflict, match="50010"):
        await adapter.update_appointment(
            "50001", AppointmentUpdateData(end=T0 + timedelta(minutes=90)), reference="cmd-13"
        )


async def test_schedule_block_cannot_be_updated(adapter: EaglesoftAdapter) -> None:
    with pytest.raises(NotFound):
        await adapter.update_appointment("50002", AppointmentUpdateData(notes="x"), reference="cmd-14")


async def test_update_confirms_with_partial_put(adapter: EaglesoftAdapter, fake: FakeEaglesoft) -> None:
    updated = await adapter.update_appointment(
        "50001", AppointmentUpdateData(status=AppointmentStatus.CONFIRMED), reference="cmd-15"
    )
    assert updated.status is AppointmentStatus.CONFIRMED
    assert fake.writes["w1"].body == {
        "AppointmentArrivalStatus": 0,
        "ConfirmationStatus": 1,
        "AppointmentNotes": "[pms-relay:ref=cmd-15]",
    }
    found = await adapter.find_by_reference("cmd-15")
    assert isinstance(found, Appointment)
    assert found.id == "50001"


async def test_read_back_failure_after_completion_is_outcome_unknown(
    adapter: EaglesoftAdapter, fake: FakeEaglesoft
) -> None:
    def gone(request: httpx.Request) -> httpx.Response | None:
        return (
            httpx.Response(503, json={"ErrorCode": "ServiceUnavailable"})
            if request.url.path.count("/") > 3
            else None
        )

    fake.overrides[("GET", "appointments")] = gone
    with pytest.raises(Unavailable) as raised:
        await adapter.create_appointment(_booking(), reference="cmd-16")
    assert raised.value.outcome_unknown
