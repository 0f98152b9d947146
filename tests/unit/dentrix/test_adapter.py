from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from adapters.dentrix import DentrixAdapter, DentrixConfig
from adapters.domain import (
    AppointmentCreateData,
    AppointmentStatus,
    AppointmentUpdateData,
    DateRange,
    PatientCreateData,
    PatientSearchQuery,
    PatientUpdateData,
    Phone,
)
from adapters.errors import (
    Conflict,
    ConnectionLost,
    NotFound,
    PMSError,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from adapters.http import RetryPolicy
from tests.unit.dentrix.fake_ascend import ORG, FakeAscend, fault

T0 = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)
REF = "3f0c1a52-5f0e-4d7a-9b2a-1c2d3e4f5a6b"


def _seed() -> FakeAscend:
    fake = FakeAscend()
    fake.tables["locations"] = [
        {"id": "1", "type": "LocationV1", "name": "Main", "timeZone": "America/New_York"},
        {"id": "2", "type": "LocationV1", "name": "Empty", "timeZone": "America/Denver"},
    ]
    fake.tables["operatories"] = [
        {"id": "11", "name": "Op 1", "active": True, "location": {"id": "1", "type": "LocationV1"}},
        {"id": "12", "name": "Op 2", "active": True, "location": {"id": "1", "type": "LocationV1"}},
    ]
    fake.tables["patients"] = [
        {
            "id": str(100 + i),
            "firstName": f"Pat{i}",
            "lastName": "Smith" if i % 2 else "Jones",
            "dateOfBirth": "1980-01-0" + str(1 + i % 9),
            "phones": [{"number": f"555-010{i}"}],
            "notes": None,
            "lastModified": "2026-01-01T00:00:00Z",
        }
        for i in range(7)
    ]
    fake.tables["appointments"] = [
        _appt("500", "11", T0, 60, "UNCONFIRMED"),
        _appt("501", "11", T0 + timedelta(hours=2), 30, "CANCELLED"),
    ]
    return fake


def _appt(appt_id: str, op: str, start: datetime, minutes: int, status: str) -> dict[str, Any]:
    end = start + timedelta(minutes=minutes)
    return {
        "id": appt_id,
        "type": "AppointmentV1",
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration": minutes,
        "status": status,
        "patient": {"id": "100", "type": "PatientV1"},
        "operatory": {"id": op, "type": "OperatoryV1"},
        "other": "keep me",
    }


def _config(**overrides: Any) -> DentrixConfig:
    values: dict[str, Any] = {
        "base_url": "https://ascend.test",
        "organization_id": ORG,
        "client_id": "cid",
        "client_secret": SecretStr("s3cret"),
        "page_size": 3,
        "rate_per_second": 1000,
    }
    values.update(overrides)
    return DentrixConfig(**values)


@pytest.fixture
def fake() -> FakeAscend:
    return _seed()


@pytest.fixture
async def adapter(fake: FakeAscend) -> AsyncIterator[DentrixAdapter]:
    async with DentrixAdapter(_config(), transport=fake.transport(), retry=RetryPolicy(max_attempts=1)) as a:
        assert isinstance(a, DentrixAdapter)
        yield a


def _create(start: datetime, minutes: int = 30, op: str = "11") -> AppointmentCreateData:
    return AppointmentCreateData(
        patient_id="100",
        location_id="1",
        operatory_id=op,
        start=start,
        end=start + timedelta(minutes=minutes),
    )


async def test_token_is_fetched_once_and_every_call_is_authenticated(
    adapter: DentrixAdapter, fake: FakeAscend
) -> None:
    await adapter.list_locations()
    await adapter.search_patients(PatientSearchQuery(last_name="Smith"))
    assert fake.tokens_issued == 1
    for request in fake.data_requests():
        assert request.headers["Authorization"] == "Bearer tok1"
        assert request.headers["Organization-ID"] == ORG


async def test_paging_walks_every_page_with_last_id(adapter: DentrixAdapter, fake: FakeAscend) -> None:
    found = await adapter.search_patients(PatientSearchQuery(first_name="Pat"))
    assert [p.id for p in found] == [str(100 + i) for i in range(7)]
    pages = fake.data_requests("GET", "patients")
    assert [r.url.params.get("lastId") for r in pages] == [None, "102", "105"]
    assert {r.url.params["pageSize"] for r in pages} == {"3"}


async def test_exact_page_multiple_ends_on_an_empty_page(adapter: DentrixAdapter, fake: FakeAscend) -> None:
    fake.tables["patients"] = fake.tables["patients"][:6]
    assert len(await adapter.search_patients(PatientSearchQuery(first_name="Pat"))) == 6
    assert len(fake.data_requests("GET", "patients")) == 3


async def test_search_stops_at_limit_and_filters_phone(adapter: DentrixAdapter, fake: FakeAscend) -> None:
    assert len(await adapter.search_patients(PatientSearchQuery(first_name="Pat", limit=2))) == 2
    assert len(fake.data_requests("GET", "patients")) == 1
    by_phone = await adapter.search_patients(PatientSearchQuery(phone="(555) 0105"))
    assert [p.id for p in by_phone] == ["105"]


async def test_paging_that_does_not_advance_is_an_error(adapter: DentrixAdapter, fake: FakeAscend) -> None:
    rows = fake.tables["patients"][:3]
    fake.overrides[("GET", "patients")] = lambda _r: httpx.Response(200, json={"data": rows})
    with pytest.raises(PMSError, match="did not advance"):
        await adapter.search_patients(PatientSearchQuery(first_name="Pat"))


async def test_static_lists_are_cached_until_invalidated(adapter: DentrixAdapter, fake: FakeAscend) -> None:
    assert [loc.id for loc in await adapter.list_locations()] == ["1", "2"]
    assert [op.id for op in await adapter.list_operatories("1")] == ["11", "12"]
    await adapter.list_locations()
    await adapter.list_operatories()
    assert len(fake.data_requests("GET", "locations")) == 1
    assert len(fake.data_requests("GET", "operatories")) == 1
    adapter.invalidate_static_cache()
    await adapter.list_locations()
    assert len(fake.data_requests("GET", "locations")) == 2


async def test_list_appointments_filters_by_location_operatories(
    adapter: DentrixAdapter, fake: FakeAscend
) -> None:
    day = DateRange(start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=12))
    found = await adapter.list_appointments("1", day)
    assert [(a.id, a.location_id, a.status) for a in found] == [
        ("500", "1", AppointmentStatus.SCHEDULED),
        ("501", "1", AppointmentStatus.CANCELLED),
    ]
    assert "operatory.id->[11,12]" in fake.data_requests("GET", "appointments")[0].url.params["filter"]
    assert await adapter.list_appointments("2", day) == []
    with pytest.raises(NotFound):
        await adapter.list_appointments("999", day)


async def test_create_appointment_tags_reference_and_maps_back(
    adapter: DentrixAdapter, fake: FakeAscend
) -> None:
    created = await adapter.create_appointment(_create(T0 + timedelta(hours=1)), reference=REF)
    assert created.external_reference == REF
    assert created.location_id == "1"
    body = json.loads(fake.data_requests("POST", "appointments")[0].content)
    assert body["other"] == f"[pms-relay:ref={REF}]"
    assert body["status"] == "UNCONFIRMED"


@pytest.mark.parametrize(
    ("start", "minutes", "op", "conflict"),
    [
        (T0, 30, "11", True),  # same start
        (T0 - timedelta(minutes=15), 30, "11", True),  # overlaps the beginning
        (T0 + timedelta(minutes=59), 5, "11", True),  # overlaps the end
        (T0 + timedelta(hours=1), 30, "11", False),  # touches the end
        (T0 - timedelta(minutes=30), 30, "11", False),  # touches the start
        (T0, 30, "12", False),  # another operatory
        (T0 + timedelta(hours=2), 30, "11", False),  # over a cancelled appointment
    ],
)
async def test_double_booking_guard(
    adapter: DentrixAdapter, fake: FakeAscend, start: datetime, minutes: int, op: str, conflict: bool
) -> None:
    if conflict:
        with pytest.raises(Conflict) as info:
            await adapter.create_appointment(_create(start, minutes, op), reference=REF)
        assert not info.value.retryable
        assert fake.data_requests("POST") == []
    else:
        await adapter.create_appointment(_create(start, minutes, op), reference=REF)
        assert len(fake.data_requests("POST")) == 1


async def test_operatory_outside_location_is_a_validation_error(adapter: DentrixAdapter) -> None:
    data = _create(T0).model_copy(update={"location_id": "2"})
    with pytest.raises(ValidationFailed):
        await adapter.create_appointment(data, reference=REF)


async def test_update_appointment_is_partial_and_retags(adapter: DentrixAdapter, fake: FakeAscend) -> None:
    updated = await adapter.update_appointment(
        "500", AppointmentUpdateData(status=AppointmentStatus.CONFIRMED), reference=REF
    )
    assert updated.status is AppointmentStatus.CONFIRMED
    assert (updated.start, updated.end, updated.notes) == (T0, T0 + timedelta(hours=1), "keep me")
    assert updated.external_reference == REF
    assert await adapter.find_by_reference(REF) == updated


async def test_moving_onto_a_booked_slot_conflicts(adapter: DentrixAdapter, fake: FakeAscend) -> None:
    other = await adapter.create_appointment(_create(T0, 60, "12"), reference="r1")
    with pytest.raises(Conflict):
        await adapter.update_appointment(other.id, AppointmentUpdateData(operatory_id="11"), reference="r2")
    moved = await adapter.update_appointment(
        "500", AppointmentUpdateData(end=T0 + timedelta(minutes=45)), reference="r3"
    )
    assert moved.duration_minutes == 45


async def test_update_missing_appointment_is_not_found(adapter: DentrixAdapter) -> None:
    with pytest.raises(NotFound):
        await adapter.update_appointment("404", AppointmentUpdateData(notes="x"), reference=REF)


async def test_patient_create_update_and_find(adapter: DentrixAdapter, fake: FakeAscend) -> None:
    created = await adapter.create_patient(
        PatientCreateData(first_name="Ann", last_name="Lee", date_of_birth=date(1990, 1, 2)), reference="c1"
    )
    updated = await adapter.update_patient(
        created.id, PatientUpdateData(phones=(Phone(number="555-0199"),)), reference="u1"
    )
    assert (updated.first_name, updated.date_of_birth) == ("Ann", date(1990, 1, 2))
    assert updated.phones == (Phone(number="555-0199"),)
    assert await adapter.find_by_reference("u1") == updated
    assert await adapter.find_by_reference("c1") is None  # the marker holds the latest write only


async def test_find_by_reference_needs_an_exact_marker(adapter: DentrixAdapter, fake: FakeAscend) -> None:
    fake.tables["appointments"][0]["other"] = f"[pms-relay:ref={REF}-2]"
    assert await adapter.find_by_reference(REF) is None


async def test_lost_write_response_is_outcome_unknown(fake: FakeAscend) -> None:
    def lose(request: httpx.Request) -> httpx.Response:
        fake._table(request, "appointments", None)
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    fake.overrides[("POST", "appointments")] = lose
    async with DentrixAdapter(_config(), transport=fake.transport()) as adapter:
        with pytest.raises(ConnectionLost) as info:
            await adapter.create_appointment(_create(T0 + timedelta(hours=3)), reference=REF)
        assert info.value.outcome_unknown
        assert len(fake.data_requests("POST")) == 1  # never resent blindly
        found = await adapter.find_by_reference(REF)
    assert found is not None
    assert found.external_reference == REF


async def test_revoked_token_is_refreshed_once(adapter: DentrixAdapter, fake: FakeAscend) -> None:
    await adapter.list_locations()
    fake.valid_tokens.clear()
    await adapter.search_patients(PatientSearchQuery(last_name="Smith"))
    assert fake.tokens_issued == 2


async def test_token_refused_twice_is_unauthorized(adapter: DentrixAdapter, fake: FakeAscend) -> None:
    fake.overrides[("GET", "patients")] = lambda _r: httpx.Response(
        401, json=fault("oauth.v2.InvalidAccessToken")
    )
    with pytest.raises(Unauthorized):
        await adapter.search_patients(PatientSearchQuery(last_name="Smith"))
    assert fake.tokens_issued == 2


async def test_bad_client_secret_is_unauthorized(fake: FakeAscend) -> None:
    async with DentrixAdapter(
        _config(client_secret=SecretStr("wrong")), transport=fake.transport()
    ) as adapter:
        with pytest.raises(Unauthorized):
            await adapter.list_locations()
        status = await adapter.validate_connection()
    assert not status.ok
    assert status.detail is not None
    assert "wrong" not in status.detail


async def test_rate_limited_carries_retry_after(adapter: DentrixAdapter, fake: FakeAscend) -> None:
    fake.overrides[("GET", "patients")] = lambda _r: httpx.Response(
        429, json=fault("policies.ratelimit.QuotaViolation"), headers={"Retry-After": "12"}
    )
    with pytest.raises(RateLimited) as info:
        await adapter.search_patients(PatientSearchQuery(last_name="Smith"))
    assert info.value.retry_after == 12.0


async def test_validate_connection_reports_version(adapter: DentrixAdapter, fake: FakeAscend) -> None:
    fake.overrides[("GET", "locations")] = lambda _r: httpx.Response(
        200, json={"data": []}, headers={"X-Ascend-Version": "1.4"}
    )
    status = await adapter.validate_connection()
    assert (status.ok, status.version, status.writable, status.pms) == (True, "1.4", True, "DENTRIX")


async def test_unreadable_record_never_quotes_patient_data(
    adapter: DentrixAdapter, fake: FakeAscend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.tables["patients"][1]["dateOfBirth"] = "Zelda-born-1977"
    with pytest.raises(PMSError) as info:
        await adapter.search_patients(PatientSearchQuery(last_name="Smith"))
    assert info.value.message == "Dentrix patient 101 unreadable (ValueError)"
    assert info.value.__cause__ is None
    # The adapter's own lines; what the HTTP layer logs is checked by the contract suite.
    own = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("adapters"))
    assert "Zelda" not in own
    assert "Smith" not in own


async def test_expires_in_string_schedules_refresh(fake: FakeAscend) -> None:
    fake.expires_in = "200"  # below the 300 s margin: every call refreshes first
    async with DentrixAdapter(_config(), transport=fake.transport()) as adapter:
        await adapter.list_locations()
        adapter.invalidate_static_cache()
        await adapter.list_locations()
    assert fake.tokens_issued == 2


def test_config_is_frozen_strict_and_hides_the_secret() -> None:
    config = _config()
    assert "s3cret" not in repr(config)
    with pytest.raises(ValueError, match="organization_id"):
        _config(organization_id="nope")
    with pytest.raises(ValueError, match="Extra inputs"):
        _config(pagesize=3)
    with pytest.raises(ValueError, match="frozen"):
        config.page_size = 5  # type: ignore[misc]
