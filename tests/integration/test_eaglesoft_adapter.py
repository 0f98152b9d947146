"""Eaglesoft-only behaviour of the adapter against the Eaglesoft sandbox over real HTTP: asynchronous writes
that fail later or stay pending past the deadline, schedule blocks, hidden chairs, daylight-saving readings
planted in the seed, and a server too old to write. (The vendor-neutral contract is ``tests/contract``.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.deadline import deadline_scope
from adapters.domain import Appointment, AppointmentCreateData, DateRange
from adapters.eaglesoft import EaglesoftAdapter
from adapters.eaglesoft.sandbox.harness import EaglesoftHarness
from adapters.errors import PMSError, Unavailable, Unsupported, ValidationFailed
from adapters.sandbox.harness import AdapterOverrides

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

_DAYS = iter(range(400))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[EaglesoftHarness]:
    harness = EaglesoftHarness()
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()


@pytest.fixture
async def adapter(sandbox: EaglesoftHarness) -> AsyncIterator[EaglesoftAdapter]:
    sandbox.set_faults()
    # A generous rate, so that short deadlines measure the write's polling, not the client's pacing.
    adapter = sandbox.make_adapter(AdapterOverrides(rate_per_second=100.0))
    yield adapter
    await adapter.close()
    sandbox.set_faults()


def _booking(sandbox: EaglesoftHarness) -> AppointmentCreateData:
    known = sandbox.known
    day = date(2028, 2, 1) + timedelta(days=next(_DAYS))
    start = datetime(day.year, day.month, day.day, 11, 0, tzinfo=ZoneInfo(known.dst_location_zone))
    return AppointmentCreateData(
        patient_id=known.patient_id,
        location_id=known.dst_location_id,
        operatory_id=known.operatory_id,
        start=start,
        end=start + timedelta(minutes=30),
    )


async def test_write_failed_after_acceptance(adapter: EaglesoftAdapter, sandbox: EaglesoftHarness) -> None:
    sandbox.set_write_faults("write_failed,error_code=RecordLocked,count=1")
    reference = str(uuid.uuid4())
    with pytest.raises(Unavailable) as locked:
        await adapter.create_appointment(_booking(sandbox), reference=reference)
    assert locked.value.retryable
    assert not locked.value.outcome_unknown
    assert sandbox.count_by_reference(reference) == 0


async def test_unknown_provider_fails_later_as_validation(
    adapter: EaglesoftAdapter, sandbox: EaglesoftHarness
) -> None:
    booking = _booking(sandbox).model_copy(update={"provider_id": "NOPE9"})
    with pytest.raises(ValidationFailed) as invalid:
        await adapter.create_appointment(booking, reference=str(uuid.uuid4()))
    assert invalid.value.vendor_code == "InvalidProvider"


async def test_pending_past_deadline_is_outcome_unknown_then_found_by_reference(
    adapter: EaglesoftAdapter, sandbox: EaglesoftHarness
) -> None:
    sandbox.set_write_faults("write_stuck,pending_s=1.0,then=completed,count=1")
    booking = _booking(sandbox)
    reference = str(uuid.uuid4())
    with pytest.raises(PMSError) as unknown, deadline_scope(seconds=0.4):
        await adapter.create_appointment(booking, reference=reference)
    assert unknown.value.outcome_unknown
    assert unknown.value.retryable
    found = None
    for _ in range(50):  # bounded poll: the stuck write completes about a second after it was accepted
        found = await adapter.find_by_reference(reference)
        if found is not None:
            break
        await asyncio.sleep(0.1)
    assert isinstance(found, Appointment)
    assert (found.start, found.end) == (booking.start, booking.end)
    assert sandbox.count_by_reference(reference) == 1


async def test_blocks_and_nonexistent_times_are_never_listed(
    adapter: EaglesoftAdapter, sandbox: EaglesoftHarness
) -> None:
    planted = sandbox.summary["planted"]
    zone = ZoneInfo(sandbox.known.dst_location_zone)
    anchor = date.fromisoformat(sandbox.summary["anchor"])
    week = DateRange(
        start=datetime(anchor.year, anchor.month, anchor.day, tzinfo=zone),
        end=datetime(anchor.year, anchor.month, anchor.day, tzinfo=zone) + timedelta(days=7),
    )
    listed = await adapter.list_appointments(sandbox.known.dst_location_id, week)
    ids = {int(a.id) for a in listed}
    assert listed, "the seeded week has appointments"
    assert not ids & set(planted["blocks"])
    dst = [a for a in listed if int(a.id) in planted["dstAppointments"]]
    # 01:30-03:30 across spring-forward is listed (60 real minutes); 02:30-03:00 never existed: left out.
    assert [(a.start.astimezone(zone).strftime("%H:%M"), a.duration_minutes) for a in dst] == [("01:30", 60)]


async def test_repeated_hour_reads_as_the_earlier_instant(
    adapter: EaglesoftAdapter, sandbox: EaglesoftHarness
) -> None:
    zone = ZoneInfo(sandbox.known.dst_location_zone)
    day = DateRange(start=datetime(2026, 11, 1, tzinfo=zone), end=datetime(2026, 11, 2, tzinfo=zone))
    planted = set(sandbox.summary["planted"]["dstAppointments"])
    listed = [a for a in await adapter.list_appointments(None, day) if int(a.id) in planted]
    spans = sorted((a.start.astimezone(UTC).strftime("%H:%M"), a.duration_minutes) for a in listed)
    # 00:30 CDT-02:30 CST is 180 minutes; 01:30-02:00 is read as 01:30 CDT (06:30Z) to 02:00 CST (08:00Z).
    assert spans == [("05:30", 180), ("06:30", 90)]


async def test_hidden_chairs_are_not_operatories(
    adapter: EaglesoftAdapter, sandbox: EaglesoftHarness
) -> None:
    practice = next(
        p for p in sandbox.summary["practices"] if str(p["PracticeId"]) == sandbox.known.dst_location_id
    )
    hidden = {str(c["ChairNum"]) for c in practice["chairs"] if c["Hidden"] == "Y"}
    listed = {op.id for op in await adapter.list_operatories(sandbox.known.dst_location_id)}
    assert hidden
    assert not listed & hidden
    booking = _booking(sandbox).model_copy(update={"operatory_id": sorted(hidden)[0]})
    with pytest.raises(ValidationFailed):
        await adapter.create_appointment(booking, reference=str(uuid.uuid4()))


async def test_a_server_older_than_18_cannot_write() -> None:
    old = EaglesoftHarness(version="17.10.02")
    old.start()
    adapter = old.make_adapter()
    try:
        status = await adapter.validate_connection()
        assert (status.ok, status.version, status.writable) == (True, "17.10.02", False)
        with pytest.raises(Unsupported):
            await adapter.create_appointment(_booking(old), reference=str(uuid.uuid4()))
        assert not [r for r in old.requests() if r.is_write]
    finally:
        await adapter.close()
        old.stop()
