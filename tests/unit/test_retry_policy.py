"""Where a failed command goes next: a table of cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.errors import ErrorCode
from streams.retry import (
    DeadLetter,
    Decision,
    Failure,
    FailureKind,
    GiveUp,
    Retry,
    RetryTiers,
    decide,
    pick_tier,
)

NOW = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
TIERS = RetryTiers((10.0, 60.0, 600.0))
UNAVAILABLE = Failure(ErrorCode.UNAVAILABLE, retryable=True)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("failure", "attempts", "expires_at", "expected"),
    [
        pytest.param(
            Failure(ErrorCode.VALIDATION, False), 1, None, GiveUp(ErrorCode.VALIDATION), id="permanent"
        ),
        pytest.param(
            Failure(ErrorCode.CONFLICT, False), 3, None, GiveUp(ErrorCode.CONFLICT), id="permanent-late"
        ),
        pytest.param(UNAVAILABLE, 1, None, Retry(0, at(10), 1), id="first-failure-tier0"),
        pytest.param(UNAVAILABLE, 2, None, Retry(1, at(60), 2), id="second-failure-tier1"),
        pytest.param(UNAVAILABLE, 3, None, Retry(2, at(600), 3), id="third-failure-tier2"),
        pytest.param(UNAVAILABLE, 4, None, DeadLetter(ErrorCode.UNAVAILABLE), id="exhausted"),
        pytest.param(UNAVAILABLE, 1, at(5), GiveUp(ErrorCode.DEADLINE_EXCEEDED), id="deadline-before-due"),
        pytest.param(UNAVAILABLE, 1, at(11), Retry(0, at(10), 1), id="deadline-after-due"),
        pytest.param(
            Failure(ErrorCode.RATE_LIMITED, True, retry_after=30.0),
            1,
            None,
            Retry(1, at(60), 1),
            id="429-picks-covering-tier",
        ),
        pytest.param(
            Failure(ErrorCode.RATE_LIMITED, True, retry_after=5.0),
            1,
            None,
            Retry(0, at(10), 1),
            id="429-short",
        ),
        pytest.param(
            Failure(ErrorCode.RATE_LIMITED, True, retry_after=900.0),
            1,
            None,
            Retry(2, at(900), 1),
            id="429-longer-than-any-tier",
        ),
        pytest.param(
            Failure(ErrorCode.CIRCUIT_OPEN, True, retry_after=25.0, kind=FailureKind.CIRCUIT_OPEN),
            4,
            None,
            Retry(1, at(60), 4),
            id="circuit-open-burns-no-attempt",
        ),
        pytest.param(
            Failure(ErrorCode.RATE_LIMITED, True, retry_after=3.0, kind=FailureKind.PARKED),
            2,
            None,
            Retry(0, at(10), 2),
            id="parked-burns-no-attempt",
        ),
    ],
)
def test_decide(failure: Failure, attempts: int, expires_at: datetime | None, expected: Decision) -> None:
    assert decide(failure, attempts=attempts, now=NOW, expires_at=expires_at, tiers=TIERS) == expected


@pytest.mark.parametrize(
    ("wait", "at_least", "tier"),
    [(0, 0, 0), (10, 0, 0), (11, 0, 1), (60, 0, 1), (61, 0, 2), (10_000, 0, 2), (1, 2, 2)],
)
def test_pick_tier(wait: float, at_least: int, tier: int) -> None:
    assert pick_tier(wait, TIERS, at_least=at_least) == tier


@pytest.mark.parametrize("delays", [(), (0.0,), (60.0, 10.0), (-1.0, 5.0)])
def test_tiers_are_validated(delays: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="tier"):
        RetryTiers(delays)
