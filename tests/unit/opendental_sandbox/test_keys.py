from __future__ import annotations

import pytest

from adapters.opendental.sandbox.keys import KeyRing, Throttle, parse_authorization


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("header", "pair"),
    [
        ("ODFHIR dev/cust", ("dev", "cust")),
        ("ODFHIR  dev/cust ", ("dev", "cust")),
        ("Bearer dev/cust", None),
        ("ODFHIR devcust", None),
        ("ODFHIR /cust", None),
        ("ODFHIR dev/", None),
        ("ODFHIR dev/cu/st", None),
        ("odfhir dev/cust", None),
        ("", None),
    ],
)
def test_parse_authorization(header: str, pair: tuple[str, str] | None) -> None:
    assert parse_authorization(header) == pair


def test_a_key_pair_is_checked_once_per_validation_window() -> None:
    clock, checks = Clock(), []
    ring = KeyRing("dev", {"cust-a": 1, "cust-b": 2}, ttl_s=60, on_check=checks.append, clock=clock)
    assert [ring.office("dev", "cust-a"), ring.office("dev", "cust-a"), ring.office("dev", "cust-b")] == [
        1,
        1,
        2,
    ]
    assert checks == [200, 200]
    assert ring.office("dev", "nope") is None
    assert ring.office("other", "cust-a") is None
    assert checks == [200, 200, 401, 401]
    clock.now += 61  # the validation lapsed
    assert ring.office("dev", "cust-a") == 1
    assert ring.revoke_all() == 2
    assert ring.office("dev", "cust-a") == 1
    assert checks == [200, 200, 401, 401, 200, 200]


def test_the_throttle_admits_the_rate_with_jitter_and_refuses_faster() -> None:
    clock = Clock()
    throttle = Throttle(1.0, clock=clock)
    assert throttle.admit("k") is None
    clock.now += 0.96  # a client paced at 1/s, arriving a little early
    assert throttle.admit("k") is None
    clock.now += 0.2  # far too early
    wait = throttle.admit("k")
    assert wait is not None
    assert 0.6 < wait < 0.8
    assert throttle.admit("other") is None  # per key
    clock.now += wait
    assert throttle.admit("k") is None


def test_a_burst_is_throttled_to_the_rate() -> None:
    clock = Clock()
    throttle = Throttle(10.0, clock=clock)
    admitted = 0
    for _ in range(100):  # 100 requests in one second
        admitted += throttle.admit("k") is None
        clock.now += 0.01
    assert 10 <= admitted <= 12


def test_zero_is_unthrottled() -> None:
    throttle = Throttle(0.0, clock=Clock())
    assert all(throttle.admit("k") is None for _ in range(1000))
