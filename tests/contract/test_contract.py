"""The adapter contract: every PMS adapter passes these tests, unchanged, against its vendor's sandbox over
real HTTP. Vendor differences live in the harness (``adapters/<vendor>/sandbox/harness.py``), never here."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest

from adapters.contract import PMSInterface
from adapters.deadline import deadline_scope
from adapters.domain import (
    Appointment,
    AppointmentCreateData,
    AppointmentStatus,
    AppointmentUpdateData,
    DateRange,
    Patient,
    PatientCreateData,
    PatientSearchQuery,
    PatientUpdateData,
    Phone,
    PhoneType,
)
from adapters.errors import Conflict, NotFound, PMSError, RateLimited, ValidationFailed
from adapters.sandbox.harness import Fault, FaultKind, LoggedRequest, Resource, SandboxHarness

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

MakeAdapter = Callable[..., PMSInterface]

# Far from the seeded weeks, so new bookings never meet seeded ones; a fresh day per test.
_FREE_DAYS = iter(range(400))


def _ref() -> str:
    return str(uuid.uuid4())


def _free_slot(zone: str, minutes: int = 30) -> tuple[datetime, datetime]:
    day = date(2027, 6, 1) + timedelta(days=next(_FREE_DAYS))
    start = datetime(day.year, day.month, day.day, 10, 0, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return start, start + timedelta(minutes=minutes)


async def _booking(
    adapter: PMSInterface, harness: SandboxHarness, minutes: int = 30
) -> AppointmentCreateData:
    known = harness.known
    start, end = _free_slot(known.dst_location_zone, minutes)
    return AppointmentCreateData(
        patient_id=known.patient_id,
        location_id=known.dst_location_id,
        operatory_id=known.operatory_id,
        provider_id=known.provider_id,
        start=start,
        end=end,
        appointment_type="Comp Exam",
        notes="contract suite",
    )


def _new_patient() -> PatientCreateData:
    return PatientCreateData(
        first_name="Contractsuite",
        last_name=f"Probe{uuid.uuid4().hex[:8]}",
        date_of_birth=date(1984, 5, 17),
        phones=(Phone(number="303-555-0142", type=PhoneType.MOBILE),),
        email="probe@example.org",
    )


def _data_requests(
    harness: SandboxHarness, since: float, resource: Resource | None = None
) -> list[LoggedRequest]:
    return [
        r
        for r in harness.requests(since)
        if r.resource is not Resource.AUTH and (resource is None or r.resource is resource)
    ]


# ---- the nine operations -------------------------------------------------------------------------------


async def test_validate_connection(adapter: PMSInterface) -> None:
    status = await adapter.validate_connection()
    assert status.ok
    assert status.pms is adapter.kind
    assert status.writable


async def test_list_locations_and_operatories(adapter: PMSInterface, harness: SandboxHarness) -> None:
    known = harness.known
    locations = {loc.id: loc for loc in await adapter.list_locations()}
    assert locations[known.dst_location_id].time_zone == known.dst_location_zone
    operatories = await adapter.list_operatories(known.dst_location_id)
    assert known.operatory_id in {op.id for op in operatories}
    assert {op.location_id for op in operatories} == {known.dst_location_id}
    assert {op.location_id for op in await adapter.list_operatories()} <= set(locations)


async def test_search_patients_by_keys(adapter: PMSInterface, harness: SandboxHarness) -> None:
    known = harness.known
    query = PatientSearchQuery(
        first_name=known.patient_first_name,
        last_name=known.patient_last_name,
        date_of_birth=known.patient_date_of_birth,
    )
    found = await adapter.search_patients(query)
    assert known.patient_id in {p.id for p in found}
    assert all(p.date_of_birth == known.patient_date_of_birth for p in found)


async def test_search_pages_through_every_page(make_adapter: MakeAdapter, harness: SandboxHarness) -> None:
    known = harness.known
    page_size = 2
    assert len(known.patient_ids_with_last_name) > 2 * page_size, "the harness must offer several pages"
    adapter = make_adapter(page_size=page_size)
    since = time.time()
    found = await adapter.search_patients(PatientSearchQuery(last_name=known.patient_last_name, limit=500))
    assert known.patient_ids_with_last_name <= {p.id for p in found}
    assert len({p.id for p in found}) == len(found), "no record twice"
    pages = _data_requests(harness, since, Resource.PATIENTS)
    assert len(pages) >= len(known.patient_ids_with_last_name) // page_size


async def test_create_and_update_patient_partially(adapter: PMSInterface) -> None:
    data = _new_patient()
    created = await adapter.create_patient(data, reference=_ref())
    assert (created.first_name, created.last_name, created.date_of_birth) == (
        data.first_name,
        data.last_name,
        data.date_of_birth,
    )
    reference = _ref()
    updated = await adapter.update_patient(
        created.id, PatientUpdateData(email="moved@example.org"), reference=reference
    )
    assert updated.email == "moved@example.org"
    untouched = ("first_name", "last_name", "date_of_birth", "phones", "gender", "status")
    assert {f: getattr(updated, f) for f in untouched} == {f: getattr(created, f) for f in untouched}
    found = await adapter.find_by_reference(reference)
    assert isinstance(found, Patient)
    assert found.id == created.id


async def test_list_appointments_in_a_location(adapter: PMSInterface, harness: SandboxHarness) -> None:
    known = harness.known
    booked = await adapter.create_appointment(await _booking(adapter, harness), reference=_ref())
    window = DateRange(start=booked.start - timedelta(hours=12), end=booked.end + timedelta(hours=12))
    listed = await adapter.list_appointments(known.dst_location_id, window)
    assert booked.id in {a.id for a in listed}
    assert all(a.location_id == known.dst_location_id for a in listed)
    assert all(a.start < window.end and a.end > window.start for a in listed)
    assert booked.id in {a.id for a in await adapter.list_appointments(None, window)}


async def test_create_and_update_appointment_partially(
    adapter: PMSInterface, harness: SandboxHarness
) -> None:
    data = await _booking(adapter, harness)
    created = await adapter.create_appointment(data, reference=_ref())
    assert (created.start, created.end, created.operatory_id) == (data.start, data.end, data.operatory_id)
    assert created.status is AppointmentStatus.SCHEDULED
    assert created.duration_minutes == 30
    reference = _ref()
    updated = await adapter.update_appointment(
        created.id, AppointmentUpdateData(status=AppointmentStatus.CONFIRMED), reference=reference
    )
    assert updated.status is AppointmentStatus.CONFIRMED
    untouched = ("patient_id", "location_id", "operatory_id", "provider_id", "start", "end", "notes")
    assert {f: getattr(updated, f) for f in untouched} == {f: getattr(created, f) for f in untouched}
    found = await adapter.find_by_reference(reference)
    assert isinstance(found, Appointment)
    assert found.id == created.id


async def test_find_by_unknown_reference_is_none(adapter: PMSInterface) -> None:
    assert await adapter.find_by_reference(_ref()) is None


# ---- permanent failures ------------------------------------------------------------------------------


async def test_not_found_is_permanent(adapter: PMSInterface) -> None:
    with pytest.raises(NotFound) as appointment:
        await adapter.update_appointment("987654321", AppointmentUpdateData(notes="x"), reference=_ref())
    with pytest.raises(NotFound) as patient:
        await adapter.update_patient("987654321", PatientUpdateData(email="x@example.org"), reference=_ref())
    assert not appointment.value.retryable
    assert not patient.value.retryable


# Ids that change the route when sent raw: a slash adds a segment, ? and # cut the path, dot segments are
# removed on the way. {patient} and {appointment} are real records, which such an id sent raw would reach.
_ROUTE_CHANGING_IDS = [
    "a/b",
    "x?y=1",
    "a#b",
    ".",
    "..",
    "...",
    "%2F",
    "%2E%2E",
    "a b",
    "../patients",
    "{patient}?x=1",
    "{patient}#x",
    "{patient}/..",
    "../patients/{patient}",
    "{appointment}?x=1",
    "{appointment}#x",
    "{appointment}/.",
    "../appointments/{appointment}",
]


@pytest.mark.parametrize("template", _ROUTE_CHANGING_IDS)
async def test_an_id_is_data_never_route(
    adapter: PMSInterface, harness: SandboxHarness, template: str
) -> None:
    booked = await adapter.create_appointment(await _booking(adapter, harness), reference=_ref())
    record_id = template.format(patient=harness.known.patient_id, appointment=booked.id)
    reference = _ref()
    since = time.time()
    with pytest.raises(NotFound):
        await adapter.update_patient(record_id, PatientUpdateData(email="x@example.org"), reference=reference)
    with pytest.raises(NotFound):
        await adapter.update_appointment(record_id, AppointmentUpdateData(notes="x"), reference=reference)
    assert harness.count_by_reference(reference) == 0
    seen = _data_requests(harness, since)
    assert [r for r in seen if r.is_write] == []
    named = [r for r in seen if r.resource in (Resource.PATIENTS, Resource.APPOINTMENTS)]
    assert {r.resource for r in named} == {Resource.PATIENTS, Resource.APPOINTMENTS}
    # The sandbox saw the one id, whole, as the record of every request: never a list, never another path.
    assert [(r.method, r.resource, r.record_path) for r in named if not _names(r, record_id)] == []


def _names(request: LoggedRequest, record_id: str) -> bool:
    sent = request.record_path
    return sent is not None and "/" not in sent and unquote(sent) == record_id


async def test_validation_is_permanent(adapter: PMSInterface, harness: SandboxHarness) -> None:
    bad_patient = (await _booking(adapter, harness)).model_copy(update={"patient_id": "987654321"})
    with pytest.raises(ValidationFailed) as appointment:
        await adapter.create_appointment(bad_patient, reference=_ref())
    with pytest.raises(ValidationFailed) as patient:
        await adapter.create_patient(
            _new_patient().model_copy(update={"email": "not-an-email"}), reference=_ref()
        )
    assert not appointment.value.retryable
    assert not patient.value.retryable


async def test_double_booking_is_a_permanent_conflict(adapter: PMSInterface, harness: SandboxHarness) -> None:
    data = await _booking(adapter, harness, minutes=60)
    await adapter.create_appointment(data, reference=_ref())
    overlapping = data.model_copy(
        update={"start": data.start + timedelta(minutes=30), "end": data.end + timedelta(minutes=30)}
    )
    second = _ref()
    with pytest.raises(Conflict) as conflict:
        await adapter.create_appointment(overlapping, reference=second)
    assert not conflict.value.retryable
    assert harness.count_by_reference(second) == 0


# ---- transient failures ------------------------------------------------------------------------------


async def test_expired_token_is_refreshed_transparently(
    adapter: PMSInterface, harness: SandboxHarness
) -> None:
    await adapter.list_locations()
    harness.revoke_tokens()
    since = time.time()
    status = await adapter.validate_connection()
    assert status.ok
    assert len([r for r in harness.requests(since) if r.resource is Resource.AUTH]) == 1


async def test_rate_limit_carries_the_servers_retry_after(
    adapter: PMSInterface, harness: SandboxHarness
) -> None:
    harness.set_faults(Fault(FaultKind.RATE_LIMIT, resource=Resource.PATIENTS, retry_after_s=7))
    with pytest.raises(RateLimited) as limited:
        await adapter.search_patients(PatientSearchQuery(last_name=harness.known.patient_last_name))
    assert limited.value.retryable
    assert limited.value.retry_after == 7


async def test_server_error_burst_is_retried_within_the_deadline(
    adapter: PMSInterface, harness: SandboxHarness
) -> None:
    harness.set_faults(Fault(FaultKind.SERVER_ERROR, resource=Resource.PATIENTS, count=2, status=503))
    since = time.time()
    with deadline_scope(seconds=20):
        found = await adapter.search_patients(PatientSearchQuery(last_name=harness.known.patient_last_name))
    assert harness.known.patient_id in {p.id for p in found}
    statuses = [r.status for r in _data_requests(harness, since, Resource.PATIENTS)]
    assert statuses[:3] == [503, 503, 200]


async def test_lost_write_is_outcome_unknown_then_found_by_reference(
    adapter: PMSInterface, harness: SandboxHarness
) -> None:
    data = await _booking(adapter, harness)
    await adapter.list_operatories()  # static reads first, so the fault meets the write itself
    harness.set_faults(
        Fault(FaultKind.LOST_RESPONSE, resource=Resource.APPOINTMENTS, writes_only=True, count=1)
    )
    reference = _ref()
    with pytest.raises(PMSError) as lost:
        await adapter.create_appointment(data, reference=reference)
    assert lost.value.outcome_unknown
    found = await adapter.find_by_reference(reference)
    assert isinstance(found, Appointment)
    assert (found.start, found.end, found.operatory_id) == (data.start, data.end, data.operatory_id)
    assert harness.count_by_reference(reference) == 1


# ---- time zones ----------------------------------------------------------------------------------------


def _dst_change(zone: str, year: int, *, spring: bool) -> date:
    """The local date on which ``zone`` springs forward (or falls back) in ``year``."""
    tz = ZoneInfo(zone)
    day = date(year, 1, 1)
    while day.year == year:
        before = datetime(day.year, day.month, day.day, tzinfo=tz).utcoffset()
        after = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz).utcoffset()
        assert before is not None
        assert after is not None
        if (after > before) if spring else (after < before):
            return day
        day += timedelta(days=1)
    raise AssertionError(f"{zone} has no DST change in {year}")


@pytest.mark.parametrize(("spring", "real_minutes"), [(True, 60), (False, 180)])
async def test_appointment_across_a_dst_change_round_trips(
    adapter: PMSInterface, harness: SandboxHarness, spring: bool, real_minutes: int
) -> None:
    known = harness.known
    zone = ZoneInfo(known.dst_location_zone)
    day = _dst_change(known.dst_location_zone, 2027, spring=spring)
    # 01:30-03:30 local across spring-forward lasts 60 real minutes; 00:30-02:30 across fall-back, 180.
    local_start, local_end = ((1, 30), (3, 30)) if spring else ((0, 30), (2, 30))
    start = datetime(day.year, day.month, day.day, *local_start, tzinfo=zone).astimezone(UTC)
    end = datetime(day.year, day.month, day.day, *local_end, tzinfo=zone).astimezone(UTC)
    assert (end - start) == timedelta(minutes=real_minutes)
    booking = (await _booking(adapter, harness)).model_copy(update={"start": start, "end": end})
    created = await adapter.create_appointment(booking, reference=_ref())
    local_day = DateRange(
        start=datetime(day.year, day.month, day.day, tzinfo=zone),
        end=datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone),
    )
    listed = {a.id: a for a in await adapter.list_appointments(known.dst_location_id, local_day)}
    back = listed[created.id]
    assert (back.start, back.end) == (start, end)
    assert back.duration_minutes == real_minutes
    assert back.start.astimezone(zone).time().replace(second=0) == datetime.min.time().replace(
        hour=local_start[0], minute=local_start[1]
    )


# ---- caching and rate limits ---------------------------------------------------------------------------


async def test_static_lists_come_from_cache_until_invalidated(
    adapter: PMSInterface, harness: SandboxHarness
) -> None:
    since = time.time()
    for _ in range(3):
        await adapter.list_locations()
        await adapter.list_operatories(harness.known.dst_location_id)
    assert len(_data_requests(harness, since, Resource.LOCATIONS)) == 1
    assert len(_data_requests(harness, since, Resource.OPERATORIES)) == 1
    adapter.invalidate_static_cache()
    await adapter.list_locations()
    await adapter.list_operatories()
    assert len(_data_requests(harness, since, Resource.LOCATIONS)) == 2
    assert len(_data_requests(harness, since, Resource.OPERATORIES)) == 2


async def test_request_rate_stays_within_the_configured_limit(
    make_adapter: MakeAdapter, harness: SandboxHarness
) -> None:
    rate = 5
    adapter = make_adapter(rate_per_second=rate, max_concurrent=4)
    await adapter.validate_connection()  # token fetched outside the measured window
    since = time.time()
    statuses = await asyncio.gather(*(adapter.validate_connection() for _ in range(3 * rate)))
    assert all(s.ok for s in statuses)
    times = [r.time for r in _data_requests(harness, since)]
    assert len(times) == 3 * rate
    assert _busiest_second(times) <= rate


def _busiest_second(times: list[float], *, jitter: float = 0.05) -> int:
    """Most requests that arrived within one second of each other. Arrival stamps carry a few ms of
    scheduling jitter, so requests paced exactly at the rate can look closer by that much: the window is
    shortened by ``jitter``, far less than one request interval at the rates the suite uses."""
    return max(sum(1 for t in times if first <= t < first + 1.0 - jitter) for first in times)
