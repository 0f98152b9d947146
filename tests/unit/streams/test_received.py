"""When a command was taken in: the time a result's duration_ms and a retry copy's first-seen header start from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.errors import ErrorCode
from streams import received as received_module
from streams.hops import Hop, Origin
from streams.received import Incoming, Received

NOW = datetime(2026, 3, 9, 15, 0, 10, tzinfo=UTC)
FIRST = datetime(2026, 3, 9, 14, 58, 0, tzinfo=UTC)
MESSAGE = Incoming("pms.commands", 0, 7, b"p1", b"", [])
MONOTONIC = 1000.0


def _received(hop: Hop | None, read_at: float | None) -> Received:
    return Received(MESSAGE, None, None, hop, None, None, read_at)


@pytest.mark.parametrize(
    ("hop", "read_at", "taken_in"),
    [
        pytest.param(None, MONOTONIC - 2.5, NOW - timedelta(seconds=2.5), id="original: when it was read"),
        pytest.param(None, MONOTONIC, NOW, id="original: read just now"),
        pytest.param(None, None, NOW, id="made by hand: now"),
        pytest.param(Hop(2, 2, FIRST, Origin("pms.commands", 0, 7)), MONOTONIC - 1.0, FIRST, id="retry copy"),
    ],
)
def test_taken_in(
    monkeypatch: pytest.MonkeyPatch, hop: Hop | None, read_at: float | None, taken_in: datetime
) -> None:
    monkeypatch.setattr(received_module, "_monotonic", lambda: MONOTONIC)
    assert _received(hop, read_at).taken_in(NOW) == taken_in


def test_a_first_retry_copy_is_first_seen_when_the_original_was_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(received_module, "_monotonic", lambda: MONOTONIC)
    hop = _received(None, MONOTONIC - 4.0).next_hop(
        NOW, attempts=1, code=ErrorCode.TIMEOUT, error_class=None, error_message=None
    )
    assert hop.first_seen == NOW - timedelta(seconds=4)
