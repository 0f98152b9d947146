"""Open Dental-only behaviour of the adapter against the Open Dental sandbox over real HTTP: the real pace (one
request a second, and the 429s a faster client meets), the 60-second gateway, an office without clinics,
hidden operatories, wrong keys, and the daylight-saving readings and non-appointments planted in the seed.
(The vendor-neutral contract is ``tests/contract``.)"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from adapters.domain import AppointmentCreateData, DateRange
from adapters.errors import Unauthorized, Unavailable, ValidationFailed
from adapters.opendental import OpenDentalAdapter, OpenDentalConfig
from adapters.opendental.sandbox.harness import OpenDentalHarness
from adapters.sandbox.harness import AdapterOverrides, Resource

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

_DAYS = iter(range(400))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[OpenDentalHarness]:
    harness = OpenDentalHarness()
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()


@pytest.fixture
async def adapter(sandbox: OpenDentalHarness) -> AsyncIterator[OpenDentalAdapter]:
    sandbox.set_faults()
    sandbox.clear_requests()
    adapter = sandbox.make_adapter()
    yield adapter
    await adapter.close()
    sandbox.set_faults()


def _booking(sandbox: OpenDentalHarness, operatory: str | None = None) -> AppointmentCreateData:
    known = sandbox.known
    day = date(2028, 2, 1) + timedelta(days=next(_DAYS))
    start = datetime(day.year, day.month, day.day, 11, 0, tzinfo=ZoneInfo(known.dst_location_zone))
    return AppointmentCreateData(
        patient_id=known.patient_id,
        location_id=known.dst_location_id,
        operatory_id=operatory or known.operatory_id,
        start=start,
        end=start + timedelta(minutes=30),
    )


# ---- the pace ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paced() -> Iterator[OpenDentalHarness]:
    """A sandbox at the real API's pace: one request a second per key."""
    harness = OpenDentalHarness(rate_per_second=1.0)
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()


async def test_at_the_default_pace_no_request_is_refused(paced: OpenDentalHarness) -> None:
    adapter = paced.make_adapter(
        AdapterOverrides(rate_per_second=OpenDentalConfig.model_fields["rate_per_second"].default)
    )
    since = time.time()
    statuses = await asyncio.gather(*(adapter.validate_connection() for _ in range(4)))
    await adapter.close()
    assert all(s.ok for s in statuses)
    seen = [r for r in paced.requests(since) if r.resource is not Resource.AUTH]
    assert [r.status for r in seen] == [200] * 4
    gaps = [b.time - a.time for a, b in itertools.pairwise(seen)]
    assert min(gaps) >= 0.9  # a second apart, less the throttle's own tolerance


async def test_a_faster_client_is_told_to_wait_and_recovers(paced: OpenDentalHarness) -> None:
    adapter = paced.make_adapter(AdapterOverrides(rate_per_second=10.0))
    await asyncio.sleep(1.0)  # the key's last request (the previous test's) is a second old
    since = time.time()
    for _ in range(3):
        assert (await adapter.validate_connection()).ok
    await adapter.close()
    statuses = [r.status for r in paced.requests(since) if r.resource is not Resource.AUTH]
    assert statuses.count(200) == 3
    assert 429 in statuses  # each 429's Retry-After (1 s) was waited out in-call


# ---- the gateway -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def impatient() -> Iterator[OpenDentalHarness]:
    """A sandbox whose gateway gives up after half a second instead of sixty."""
    harness = OpenDentalHarness(gateway_timeout_s=0.5)
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()


async def test_a_504_on_a_write_leaves_its_outcome_unknown(impatient: OpenDentalHarness) -> None:
    adapter = impatient.make_adapter()
    await adapter.list_operatories()
    booking = _booking(impatient)
    impatient.set_fault_specs("hang,seconds=2,then=answer,method=POST,path=/appointments,count=1")
    with pytest.raises(Unavailable) as timed_out:
        await adapter.create_appointment(booking, reference=str(uuid.uuid4()))
    await adapter.close()
    assert (timed_out.value.http_status, timed_out.value.outcome_unknown) == (504, True)


async def test_a_504_on_a_read_is_retried_in_call(impatient: OpenDentalHarness) -> None:
    adapter = impatient.make_adapter()
    impatient.set_fault_specs("hang,seconds=2,then=answer,method=GET,path=/clinics,count=1")
    since = time.time()
    locations = await adapter.list_locations()
    await adapter.close()
    assert locations
    assert [r.status for r in impatient.requests(since) if r.resource is Resource.LOCATIONS] == [504, 200]


# ---- offices, operatories, keys ----------------------------------------------------------------------------


async def test_an_office_without_clinics_is_one_location_and_books_there(sandbox: OpenDentalHarness) -> None:
    aspen = sandbox.summary["offices"][1]
    config = OpenDentalConfig(
        base_url=sandbox.base_url,
        developer_key=SecretStr(sandbox.summary["developerKey"]),
        customer_key=SecretStr(aspen["customerKey"]),
        time_zone=aspen["timeZone"],
        office_name="Aspen Family Dentistry",
        rate_per_second=20.0,
    )
    adapter = OpenDentalAdapter(config)
    (location,) = await adapter.list_locations()
    assert (location.id, location.name, location.time_zone) == (
        "0",
        "Aspen Family Dentistry",
        "America/Denver",
    )
    operatory = next(op for op in await adapter.list_operatories("0") if op.active)
    start = datetime(2028, 3, 1, 16, 0, tzinfo=UTC)
    booked = await adapter.create_appointment(
        AppointmentCreateData(
            patient_id="1",
            location_id="0",
            operatory_id=operatory.id,
            start=start,
            end=start + timedelta(minutes=45),
        ),
        reference=str(uuid.uuid4()),
    )
    listed = await adapter.list_appointments("0", DateRange(start=start, end=start + timedelta(hours=1)))
    await adapter.close()
    assert (booked.location_id, booked.start.astimezone(ZoneInfo("America/Denver")).hour) == ("0", 9)
    assert booked.id in {a.id for a in listed}


async def test_hidden_operatories_are_listed_inactive_and_take_no_booking(
    adapter: OpenDentalAdapter, sandbox: OpenDentalHarness
) -> None:
    hidden = [op for op in await adapter.list_operatories(sandbox.known.dst_location_id) if not op.active]
    assert len(hidden) == 1
    since = time.time()
    with pytest.raises(ValidationFailed, match="hidden"):
        await adapter.create_appointment(_booking(sandbox, hidden[0].id), reference=str(uuid.uuid4()))
    assert [r for r in sandbox.requests(since) if r.is_write] == []


async def test_wrong_keys_are_refused_once(sandbox: OpenDentalHarness) -> None:
    settings = {**sandbox.connection(), "developer_key": SecretStr(sandbox.summary["developerKey"])}
    adapter = OpenDentalAdapter(
        OpenDentalConfig(
            **{**settings, "customer_key": SecretStr("NOTACUSTOMERKEY0"), "rate_per_second": 20.0}
        )
    )
    since = time.time()
    status = await adapter.validate_connection()
    with pytest.raises(Unauthorized):
        await adapter.list_locations()
    await adapter.close()
    assert (status.ok, status.writable) == (False, False)
    # Each request refused once and never sent again; each refusal is the sandbox's own credential check.
    seen = Counter((r.resource, r.status) for r in sandbox.requests(since))
    assert seen == {(Resource.AUTH, 401): 2, (Resource.OTHER, 401): 1, (Resource.LOCATIONS, 401): 1}


# ---- the planted readings ----------------------------------------------------------------------------------


async def test_planted_dst_readings_and_non_appointments(
    adapter: OpenDentalAdapter, sandbox: OpenDentalHarness
) -> None:
    office = sandbox.summary["offices"][0]
    zone = ZoneInfo(sandbox.known.dst_location_zone)
    spring = DateRange(start=datetime(2026, 3, 8, tzinfo=zone), end=datetime(2026, 3, 9, tzinfo=zone))
    listed = {a.id: a for a in await adapter.list_appointments(sandbox.known.dst_location_id, spring)}
    straddling, gap, fall, repeated = (str(i) for i in office["planted"]["dstAppointments"])
    assert listed[straddling].duration_minutes == 60
    assert listed[straddling].end.astimezone(zone).strftime("%H:%M") == "03:30"
    assert gap not in listed  # 02:30 never happened in New York that night
    autumn = DateRange(start=datetime(2026, 11, 1, tzinfo=zone), end=datetime(2026, 11, 2, tzinfo=zone))
    listed = {a.id: a for a in await adapter.list_appointments(sandbox.known.dst_location_id, autumn)}
    assert listed[fall].duration_minutes == 180
    assert listed[repeated].start == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # the first 01:30
    week = DateRange(start=datetime(2026, 2, 16, tzinfo=zone), end=datetime(2026, 3, 28, tzinfo=zone))
    everything = {a.id for a in await adapter.list_appointments(None, week)}
    assert everything
    assert not everything & {str(i) for i in office["planted"]["notAppointments"]}
