from __future__ import annotations

import time
from datetime import datetime, tzinfo

import pybreaker
import pytest

from tests.unit.streams.fakes import FakeClock, Harness


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A fake clock that also drives pybreaker, which reads ``datetime.now`` for its reset timeout."""
    fake = FakeClock(float(int(time.time())))

    class _FakeNow(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
            return datetime.fromtimestamp(fake(), tz)

    monkeypatch.setattr(pybreaker, "datetime", _FakeNow)
    return fake


@pytest.fixture
def harness(clock: FakeClock) -> Harness:
    return Harness(clock)
