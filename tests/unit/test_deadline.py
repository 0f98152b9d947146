"""The caller's deadline narrows, never widens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.deadline import deadline_scope, remaining


def test_no_deadline_by_default() -> None:
    assert remaining() is None


def test_inner_scope_cannot_extend_outer() -> None:
    with deadline_scope(seconds=5):
        outer = remaining()
        assert outer is not None
        assert 0 < outer <= 5
        with deadline_scope(seconds=60):
            inner = remaining()
            assert inner is not None
            assert inner <= 5
        with deadline_scope(seconds=1):
            inner = remaining()
            assert inner is not None
            assert inner <= 1
    assert remaining() is None


def test_absolute_deadline_in_the_past_is_negative() -> None:
    with deadline_scope(datetime.now(UTC) - timedelta(seconds=10)):
        left = remaining()
        assert left is not None
        assert left < 0
