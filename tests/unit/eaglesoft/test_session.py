from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapters.eaglesoft.session import FALLBACK_LIFETIME_SECONDS, parse_session, session_lifetime
from adapters.errors import PMSError

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 7, 1, 16, 0, tzinfo=UTC)  # 12:00 in New York


@pytest.mark.parametrize(
    ("expires_at", "lifetime"),
    [
        ("2026-07-01T13:00:00", 3600.0),
        ("2026-07-01T11:00:00", FALLBACK_LIFETIME_SECONDS),  # already past: a zone or clock we have wrong
        ("2026-07-05T13:00:00", FALLBACK_LIFETIME_SECONDS),  # beyond a day: implausible
        ("2026-07-01T13:00:00Z", FALLBACK_LIFETIME_SECONDS),  # not the dialect
        (None, FALLBACK_LIFETIME_SECONDS),
    ],
)
def test_session_lifetime(expires_at: Any, lifetime: float) -> None:
    assert session_lifetime(expires_at, NY, NOW) == pytest.approx(lifetime)


def test_parse_session() -> None:
    token = parse_session(
        {"SessionToken": "abc", "ExpiresAt": "2026-07-01T13:00:00"}, zone=NY, now_utc=NOW, now_mono=100.0
    )
    assert (token.value, token.expires_at) == ("abc", pytest.approx(3700.0))
    assert "abc" not in repr(token)


@pytest.mark.parametrize("body", [{}, {"SessionToken": ""}, []])
def test_parse_session_needs_a_token(body: Any) -> None:
    with pytest.raises(PMSError):
        parse_session(body, zone=NY, now_utc=NOW, now_mono=0.0)
