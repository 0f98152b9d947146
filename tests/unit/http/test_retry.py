"""The in-call retry policy, one row per case."""

from __future__ import annotations

import pytest

from adapters.errors import (
    Conflict,
    ConnectionLost,
    NotFound,
    PMSError,
    PMSTimeout,
    RateLimited,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from adapters.http.retry import (
    RetryPolicy,
    equal_jitter,
    fits_deadline,
    full_jitter,
    next_delay,
    should_retry,
)

POLICY = RetryPolicy(max_attempts=3, base_delay=0.2, max_delay=2.0, max_rate_limit_wait=1.0)


@pytest.mark.parametrize(
    ("error", "attempt", "is_write", "remaining", "expected"),
    [
        pytest.param(ConnectionLost("x"), 1, False, None, True, id="not-sent-read"),
        pytest.param(ConnectionLost("x"), 1, True, None, True, id="not-sent-write"),
        pytest.param(ConnectionLost("x", outcome_unknown=True), 1, True, None, False, id="dropped-write"),
        pytest.param(Unavailable("x", http_status=502), 1, False, None, True, id="502-read"),
        pytest.param(Unavailable("x", http_status=503), 2, False, 5.0, True, id="503-read"),
        pytest.param(Unavailable("x", http_status=504), 1, False, None, True, id="504-read"),
        pytest.param(Unavailable("x", http_status=503), 1, True, None, True, id="503-write"),
        pytest.param(Unavailable("x", http_status=502), 1, True, None, False, id="502-write"),
        pytest.param(Unavailable("x", http_status=500), 1, True, None, False, id="500-write"),
        pytest.param(Unavailable("x", http_status=503), 3, False, None, False, id="attempts-used-up"),
        pytest.param(Unavailable("x", http_status=503), 1, False, 0.0, False, id="deadline-passed"),
        pytest.param(Unavailable("x", http_status=503), 1, False, -1.0, False, id="deadline-long-passed"),
        pytest.param(PMSTimeout("x"), 1, False, None, False, id="read-timeout"),
        pytest.param(PMSTimeout("x", outcome_unknown=True), 1, True, None, False, id="write-timeout"),
        pytest.param(RateLimited("x", retry_after=0.5), 1, False, None, True, id="429-short"),
        pytest.param(RateLimited("x", retry_after=1.0), 1, True, None, True, id="429-at-cap"),
        pytest.param(RateLimited("x", retry_after=30.0), 1, False, None, False, id="429-long"),
        pytest.param(RateLimited("x"), 1, False, None, False, id="429-no-retry-after"),
        pytest.param(RateLimited("x", retry_after=0.5), 1, False, 0.4, False, id="429-past-deadline"),
        pytest.param(RateLimited("x", retry_after=0.5), 1, False, 0.6, True, id="429-fits-deadline"),
        pytest.param(ValidationFailed("x"), 1, False, None, False, id="validation"),
        pytest.param(NotFound("x"), 1, False, None, False, id="not-found"),
        pytest.param(Conflict("x"), 1, True, None, False, id="conflict"),
        pytest.param(Unauthorized("x"), 1, False, None, False, id="unauthorized"),
        pytest.param(PMSError("x"), 1, False, None, False, id="generic-never-transient"),
    ],
)
def test_should_retry(
    error: PMSError, attempt: int, is_write: bool, remaining: float | None, expected: bool
) -> None:
    assert (
        should_retry(error, attempt=attempt, policy=POLICY, is_write=is_write, remaining=remaining)
        is expected
    )


def identity(d: float) -> float:
    return d


def zero(d: float) -> float:
    return 0.0


def too_big(d: float) -> float:
    return d * 10


@pytest.mark.parametrize(
    ("attempt", "retry_after", "jitter", "expected"),
    [
        (1, None, identity, 0.2),
        (2, None, identity, 0.4),
        (3, None, identity, 0.8),
        (4, None, identity, 1.6),
        (5, None, identity, 2.0),  # capped
        (50, None, identity, 2.0),
        (1, None, zero, 0.0),
        (1, None, too_big, 0.2),  # a jitter can never push past the backoff
        (1, 0.5, identity, 0.5),  # Retry-After is a minimum
        (4, 0.5, identity, 1.6),
        (1, 0.5, zero, 0.5),
        (1, 5.0, identity, 5.0),  # beyond max_delay when the server says so
    ],
)
def test_next_delay(attempt: int, retry_after: float | None, jitter: object, expected: float) -> None:
    assert next_delay(attempt, POLICY, retry_after=retry_after, jitter=jitter) == pytest.approx(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("delay", "remaining", "expected"),
    [(0.5, None, True), (0.5, 1.0, True), (1.0, 1.0, False), (2.0, 1.0, False), (0.0, -0.1, False)],
)
def test_fits_deadline(delay: float, remaining: float | None, expected: bool) -> None:
    assert fits_deadline(delay, remaining) is expected


@pytest.mark.parametrize("delay", [0.0, 0.2, 1.0, 2.0])
def test_jitters_stay_in_range(delay: float) -> None:
    for _ in range(200):
        assert 0.0 <= full_jitter(delay) <= delay
        assert delay / 2 <= equal_jitter(delay) <= delay


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"base_delay": 3.0, "max_delay": 2.0},
        {"base_delay": -1.0},
        {"max_rate_limit_wait": -1},
    ],
)
def test_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
