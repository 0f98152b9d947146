from __future__ import annotations

import random

import pytest

from adapters.sandbox.faults import (
    Action,
    FaultEngine,
    FaultKind,
    FaultPlan,
    FaultRule,
    RequestInfo,
    parse_fault_spec,
)

GET = RequestInfo("GET", "/api/v1/patients", "/patients")
POST_APPT = RequestInfo("POST", "/api/v1/appointments", "/appointments")
PUT_APPT = RequestInfo("PUT", "/api/v1/appointments/12", "/appointments/12")


def _actions(rules: list[FaultRule], requests: list[RequestInfo], seed: int = 1) -> list[str]:
    plan = FaultPlan(tuple(rules))
    rng = random.Random(seed)
    return [plan.decide(request, rng).action.value for request in requests]


@pytest.mark.parametrize(
    ("rules", "requests", "expected"),
    [
        pytest.param([], [GET, POST_APPT], ["pass", "pass"], id="no-rules"),
        pytest.param(
            [FaultRule(kind=FaultKind.ERROR, status=503, count=2)],
            [GET, GET, GET],
            ["respond", "respond", "pass"],
            id="burst-of-two",
        ),
        pytest.param(
            [FaultRule(kind=FaultKind.ERROR, skip=1, count=1)],
            [GET, GET, GET],
            ["pass", "respond", "pass"],
            id="skip-then-one",
        ),
        pytest.param(
            [FaultRule(kind=FaultKind.LOST_RESPONSE, method="POST", path="/appointments", count=1)],
            [GET, PUT_APPT, POST_APPT, POST_APPT],
            ["pass", "pass", "lost_response", "pass"],
            id="scoped-by-method-and-api-path",
        ),
        pytest.param(
            [FaultRule(kind=FaultKind.HANG, method="POST|PUT", path="/api/v1/appointments")],
            [GET, PUT_APPT, POST_APPT],
            ["pass", "hang", "hang"],
            id="method-alternatives-and-full-path",
        ),
        pytest.param(
            [FaultRule(kind=FaultKind.RATE_LIMIT, count=1), FaultRule(kind=FaultKind.ERROR, count=1)],
            [GET, GET, GET],
            ["respond", "respond", "pass"],
            id="first-terminal-wins-later-keeps-its-count",
        ),
        pytest.param(
            [FaultRule(kind=FaultKind.ERROR, probability=0.0)], [GET, GET], ["pass", "pass"], id="never"
        ),
        pytest.param(
            [FaultRule(kind=FaultKind.REFUSE, count=1), FaultRule(kind=FaultKind.LATENCY, ms=5)],
            [GET, GET],
            ["refuse", "pass"],
            id="latency-does-not-terminate",
        ),
    ],
)
def test_action_sequences(rules: list[FaultRule], requests: list[RequestInfo], expected: list[str]) -> None:
    assert _actions(rules, requests) == expected


def test_first_terminal_wins_and_later_rule_is_not_spent() -> None:
    plan = FaultPlan(
        (FaultRule(kind=FaultKind.RATE_LIMIT, count=1), FaultRule(kind=FaultKind.ERROR, count=1))
    )
    rng = random.Random(0)
    assert [plan.decide(GET, rng).status for _ in range(3)] == [429, 503, None]


@pytest.mark.parametrize(
    ("rule", "status", "retry_after"),
    [
        (FaultRule(kind=FaultKind.ERROR), 503, None),
        (FaultRule(kind=FaultKind.ERROR, status=500), 500, None),
        (FaultRule(kind=FaultKind.RATE_LIMIT, retry_after_s=3), 429, 3.0),
    ],
)
def test_respond_decisions(rule: FaultRule, status: int, retry_after: float | None) -> None:
    decision = FaultPlan((rule,)).decide(GET, random.Random(0))
    assert (decision.action, decision.status, decision.retry_after_s) == (Action.RESPOND, status, retry_after)


@pytest.mark.parametrize(
    ("rule", "low", "high"),
    [
        (FaultRule(kind=FaultKind.LATENCY, ms=50), 0.05, 0.05),
        (FaultRule(kind=FaultKind.LATENCY, dist="uniform", min_ms=10, max_ms=20), 0.01, 0.02),
        (FaultRule(kind=FaultKind.LATENCY, dist="normal", p50_ms=40, p99_ms=400), 0.0, 10.0),
    ],
)
def test_latency_samples_stay_in_range(rule: FaultRule, low: float, high: float) -> None:
    plan = FaultPlan((rule,))
    rng = random.Random(3)
    delays = [plan.decide(GET, rng).delay_s for _ in range(200)]
    assert all(low <= d <= high for d in delays)


def test_normal_latency_has_its_median_and_p99() -> None:
    plan = FaultPlan((FaultRule(kind=FaultKind.LATENCY, dist="normal", p50_ms=40, p99_ms=400),))
    rng = random.Random(7)
    delays = sorted(plan.decide(GET, rng).delay_s for _ in range(4000))
    assert 0.035 < delays[2000] < 0.045
    assert 0.3 < delays[3960] < 0.55


def test_latencies_add_up_and_combine_with_a_terminal_fault() -> None:
    rules = (
        FaultRule(kind=FaultKind.LATENCY, ms=10),
        FaultRule(kind=FaultKind.LATENCY, ms=5),
        FaultRule(kind=FaultKind.ERROR, status=502),
    )
    decision = FaultPlan(rules).decide(GET, random.Random(0))
    assert decision.delay_s == pytest.approx(0.015)
    assert decision.status == 502
    assert decision.fired == (FaultKind.LATENCY, FaultKind.LATENCY, FaultKind.ERROR)


def test_probability_is_reproducible_from_the_seed() -> None:
    rules = [FaultRule(kind=FaultKind.ERROR, probability=0.3)]
    first = _actions(rules, [GET] * 50, seed=11)
    assert first == _actions(rules, [GET] * 50, seed=11)
    assert 5 <= first.count("respond") <= 25


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (FaultRule(kind=FaultKind.HANG, seconds=5), (Action.HANG, 5.0, True, False)),
        (FaultRule(kind=FaultKind.HANG, seconds=2, then="answer"), (Action.HANG, 2.0, False, True)),
        (FaultRule(kind=FaultKind.LOST_RESPONSE), (Action.LOST_RESPONSE, 0.0, False, True)),
        (FaultRule(kind=FaultKind.LOST_RESPONSE, seconds=3), (Action.LOST_RESPONSE, 3.0, False, True)),
        (FaultRule(kind=FaultKind.REFUSE), (Action.REFUSE, 0.0, False, False)),
    ],
)
def test_hang_and_drop_decisions(rule: FaultRule, expected: tuple[Action, float, bool, bool]) -> None:
    decision = FaultPlan((rule,)).decide(POST_APPT, random.Random(0))
    assert (decision.action, decision.hang_s, decision.drop_after_hang, decision.runs_app) == expected


def test_stale_reads_and_token_expiry_ride_along() -> None:
    rules = (
        FaultRule(kind=FaultKind.STALE_READS, lag_ms=1500, method="POST"),
        FaultRule(kind=FaultKind.EXPIRE_TOKENS, count=1),
    )
    plan = FaultPlan(rules)
    rng = random.Random(0)
    first, second = plan.decide(POST_APPT, rng), plan.decide(GET, rng)
    assert (first.action, first.read_lag_s, first.expire_tokens) == (Action.PASS, 1.5, True)
    assert (second.read_lag_s, second.expire_tokens) == (0.0, False)


def test_duration_window_uses_the_plan_clock() -> None:
    plan = FaultPlan((FaultRule(kind=FaultKind.REFUSE, duration_s=2),), installed_at=100.0)
    rng = random.Random(0)
    at = [RequestInfo("GET", "/x", "/x", now) for now in (100.5, 101.9, 102.0, 150.0)]
    assert [plan.decide(info, rng).action for info in at] == [
        Action.REFUSE,
        Action.REFUSE,
        Action.PASS,
        Action.PASS,
    ]


def test_engine_replace_add_and_describe() -> None:
    now = [0.0]
    engine = FaultEngine([FaultRule(kind=FaultKind.ERROR, count=1)], seed=5, clock=lambda: now[0])
    assert engine.decide("GET", "/a").action is Action.RESPOND
    engine.add(FaultRule(kind=FaultKind.REFUSE, duration_s=1))
    now[0] = 0.5
    assert engine.decide("GET", "/a").action is Action.REFUSE
    now[0] = 1.5
    assert engine.decide("GET", "/a").action is Action.PASS
    rules = engine.describe()["rules"]
    assert [(r["kind"], r["fired"], r["live"]) for r in rules] == [("error", 1, False), ("refuse", 1, False)]
    engine.clear()
    assert engine.describe()["rules"] == []


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        ("error,status=500,count=3", {"kind": FaultKind.ERROR, "status": 500, "count": 3}),
        ("rate_limit,retry_after_s=2", {"kind": FaultKind.RATE_LIMIT, "retry_after_s": 2.0}),
        ("latency,dist=normal,p50_ms=40,p99_ms=400", {"dist": "normal", "p50_ms": 40.0, "p99_ms": 400.0}),
        ("hang, seconds=10, then=answer, method=POST", {"seconds": 10.0, "then": "answer", "method": "POST"}),
        ("lost_response,path=/appointments", {"kind": FaultKind.LOST_RESPONSE, "path": "/appointments"}),
        ("stale_reads,lag_ms=1500", {"lag_ms": 1500.0}),
        ("expire_tokens,skip=20,count=1", {"skip": 20, "count": 1}),
    ],
)
def test_parse_fault_spec(spec: str, fields: dict[str, object]) -> None:
    rule = parse_fault_spec(spec)
    assert {key: getattr(rule, key) for key in fields} == fields


@pytest.mark.parametrize(
    "spec",
    [
        "explode",
        "error,status=404",
        "rate_limit,status=503",
        "error,count=0",
        "error,probability=2",
        "latency,dist=uniform,min_ms=50,max_ms=10",
        "error,status",
        "error,colour=red",
        "lost_response,then=answer",
    ],
)
def test_parse_fault_spec_rejects(spec: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - pydantic's ValidationError is a ValueError
        parse_fault_spec(spec)
