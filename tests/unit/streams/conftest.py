from __future__ import annotations

import time
from datetime import datetime, tzinfo

import pybreaker
import pytest

from streams import received as received_module
from tests.unit.streams.fakes import FakeClock, Harness


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A fake clock that also drives pybreaker, which reads ``datetime.now`` for its reset timeout, and
    stamps when messages are read."""
    fake = FakeClock(float(int(time.time())))

    class _FakeNow(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
            return datetime.fromtimestamp(fake(), tz)

    monkeypatch.setattr(pybreaker, "datetime", _FakeNow)
    # When a message was read (a result's duration_ms starts there); asyncio's own clock stays real.
    monkeypatch.setattr(received_module, "_monotonic", fake)
    return fake


@pytest.fixture
def harness(clock: FakeClock) -> Harness:
    return Harness(clock)
