"""The conditions, table-driven over status records: which alerts are active, their keys and summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ops.alerts.conditions import evaluate, open_since, tier_delay_s
from ops.alerts.settings import AlertSettings, Condition
from ops.dashboard.state import Alert as Transition
from ops.dashboard.state import DeadLetter, DeadLetters, GroupLag, PartitionLag
from tests.unit.ops.alerts.fleet import fleet, practice, worker

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
SETTINGS = AlertSettings()


def ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).isoformat()


def failure(
    code: str, seconds_ago: float, command_id: str = "c-1", trace_id: str | None = None
) -> dict[str, Any]:
    return {"command_id": command_id, "code": code, "at": ago(seconds_ago), "trace_id": trace_id}


CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("healthy", {}, set()),
    ("open 6 min", {"circuit": "open", "circuit_since": ago(360)}, {"circuit_open"}),
    ("open 4 min", {"circuit": "open", "circuit_since": ago(240)}, set()),
    ("half-open, since 6 min (a flap keeps its first open)", {"circuit": "half-open", "circuit_since": ago(360)}, {"circuit_open"}),
    ("key revoked", {"recent_failures": [failure("UNAUTHORIZED", 1)], "last_success_at": ago(30)}, {"credentials_rejected"}),
    ("forbidden, then a success", {"recent_failures": [failure("FORBIDDEN", 30)], "last_success_at": ago(1)}, set()),
    ("unavailable is no credential", {"recent_failures": [failure("UNAVAILABLE", 1)], "last_success_at": ago(30)}, set()),
    ("no success 16 min, errors", {"last_success_at": ago(960), "window_5m": {"finished": 3, "errors": 3}}, {"no_success", }),
    ("no success 16 min, no commands", {"last_success_at": ago(960), "window_5m": {"finished": 0, "errors": 0}}, set()),
    ("no success since the worker started 1 h ago", {"last_success_at": None, "window_5m": {"finished": 2, "errors": 2}}, {"no_success"}),
    ("21% of 100 failed", {"window_5m": {"finished": 100, "errors": 21}}, {"error_rate"}),
    ("20% of 100 failed", {"window_5m": {"finished": 100, "errors": 20}}, set()),
    ("50% of 10: too few", {"window_5m": {"finished": 10, "errors": 5}}, set()),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_per_practice_conditions(fields: dict[str, Any], expected: set[str]) -> None:
    found = evaluate(fleet(NOW, practice("es-1", NOW, **fields)), NOW, SETTINGS).active
    assert {a.condition.value for a in found} == expected
    for alert in found:
        assert alert.key == f"pms-relay:{alert.condition.value}:es-1:eaglesoft"
        assert "es-1" in alert.summary


def test_thresholds_are_overridden_per_pms_then_per_practice() -> None:
    settings = AlertSettings.model_validate(
        {"by_pms": {"eaglesoft": {"circuit_open_s": 60}}, "by_practice": {"es-2": {"circuit_open_s": 600}}}
    )
    state = fleet(
        NOW,
        practice("es-1", NOW, circuit="open", circuit_since=ago(120)),
        practice("es-2", NOW, circuit="open", circuit_since=ago(120)),
        practice("dx-1", NOW, pms="DENTRIX", circuit="open", circuit_since=ago(120)),
    )
    assert [a.practice_id for a in evaluate(state, NOW, settings).active] == ["es-1"]


def test_a_credential_alert_names_codes_and_links_its_trace() -> None:
    p = practice(
        "es-1", NOW, recent_failures=[failure("FORBIDDEN", 2, "cmd-9", "a" * 32)], last_success_at=None
    )
    (alert,) = [
        a
        for a in evaluate(fleet(NOW, p), NOW, SETTINGS).active
        if a.condition.value == "credentials_rejected"
    ]
    assert alert.summary == "eaglesoft rejected the credentials of practice es-1: FORBIDDEN (command cmd-9)"
    assert alert.trace_id == "a" * 32


def _transition(new: str, old: str, seconds_ago: float) -> Transition:
    return Transition("es-1", "eaglesoft", old, new, 0, NOW - timedelta(seconds=seconds_ago))


OPEN_SINCE = [
    ("the record says", {"circuit": "open", "circuit_since": ago(50)}, [], {}, 50),
    ("closed", {"circuit": "closed"}, [_transition("open", "closed", 10)], {}, None),
    (
        "flapping: the first open after the last close",
        {"circuit": "open"},
        [_transition("open", "half-open", 5), _transition("half-open", "open", 20), _transition("open", "closed", 400)],
        {},
        400,
    ),
    ("reopened after a close", {"circuit": "open"}, [_transition("open", "closed", 5), _transition("closed", "half-open", 20)], {}, 5),
    ("nothing known: first seen", {"circuit": "half-open"}, [], {"es-1": NOW - timedelta(seconds=70)}, 70),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "transitions", "seen", "seconds"), [c[1:] for c in OPEN_SINCE], ids=[c[0] for c in OPEN_SINCE]
)
def test_open_since(
    fields: dict[str, Any], transitions: list[Transition], seen: dict[str, datetime], seconds: float | None
) -> None:
    (p,) = fleet(NOW, practice("es-1", NOW, **fields)).practices.values()
    since = open_since(p, transitions, seen)
    assert (None if since is None else (NOW - since).total_seconds()) == seconds


def _letter(practice_id: str, code: str, seconds_ago: float, offset: int) -> DeadLetter:
    return DeadLetter(
        0,
        offset,
        f"cmd-{offset}",
        "SearchPatients",
        practice_id,
        code,
        4,
        NOW - timedelta(seconds=seconds_ago),
        None,
    )


def test_recent_dead_letters_are_one_alert_counted_by_practice_and_code() -> None:
    state = fleet(NOW)
    letters = (_letter("es-1", "UNAVAILABLE", 10, 3), _letter("es-1", "UNAVAILABLE", 20, 2),
               _letter("dx-1", "VALIDATION", 30, 1), _letter("dx-1", "VALIDATION", 900, 0))  # fmt: skip
    state.dead_letters = DeadLetters(4, letters)
    (alert,) = evaluate(state, NOW, SETTINGS).active
    assert alert.key == "pms-relay:dead_letters"
    assert alert.summary == "3 new dead letters in 10m00s: dx-1 VALIDATION x1, es-1 UNAVAILABLE x2"
    assert alert.details["by_practice_code"] == {"dx-1/VALIDATION": 1, "es-1/UNAVAILABLE": 2}
    state.dead_letters = DeadLetters(4, letters[3:])
    assert evaluate(state, NOW, SETTINGS).active == ()


@pytest.mark.parametrize(
    ("records", "seconds", "fires"),
    [(1001, 1.0, True), (1000, 119.0, False), (5, 121.0, True), (0, 0.0, False)],
)
def test_commands_lag(records: int, seconds: float, fires: bool) -> None:
    state = fleet(NOW)
    state.lag = GroupLag("pms-relay", "pms.commands", (PartitionLag(0, 0, records, records, seconds),))
    found = evaluate(state, NOW, SETTINGS).active
    assert [a.key for a in found] == (["pms-relay:commands_lag:pms.commands"] if fires else [])


@pytest.mark.parametrize(
    ("topic", "overdue", "fires"),
    [("pms.commands.retry.10s", 11.0, True), ("pms.commands.retry.10s", 9.0, False),
     ("staging.pms.commands.retry.1m", 61.0, True), ("pms.commands.retry.10m", 100.0, False)],
)  # fmt: skip
def test_retry_overdue_by_more_than_the_tiers_delay(topic: str, overdue: float, fires: bool) -> None:
    w = worker(NOW, retry_tiers={topic: {"depth": 3, "oldest_overdue_s": overdue}})
    found = evaluate(fleet(NOW, workers=(w,)), NOW, SETTINGS).active
    assert [a.key for a in found] == ([f"pms-relay:retry_overdue:{topic}"] if fires else [])


def test_a_silent_workers_tiers_are_not_read() -> None:
    w = worker(
        NOW, updated_at=ago(60), retry_tiers={"pms.commands.retry.10s": {"depth": 1, "oldest_overdue_s": 99}}
    )
    assert evaluate(fleet(NOW, workers=(w,)), NOW, SETTINGS).active == ()


@pytest.mark.parametrize(
    ("name", "delay"),
    [("pms.commands.retry.10s", 10), ("x.pms.commands.retry.1h", 3600), ("pms.commands", None)],
)
def test_tier_delay_from_its_name(name: str, delay: float | None) -> None:
    assert tier_delay_s(name) == delay


def _many(failing: int, healthy: int) -> Any:
    bad = [practice(f"es-{n}", NOW, circuit="open", circuit_since=ago(600)) for n in range(failing)]
    good = [practice(f"dx-{n}", NOW, pms="dentrix") for n in range(healthy)]
    return fleet(NOW, *bad, *good)


@pytest.mark.parametrize(
    ("failing", "healthy", "platform"),
    [(10, 30, True), (9, 0, False), (10, 31, False), (40, 0, True)],
    ids=["10-of-40", "9-is-too-few", "10-of-41-under-25%", "all"],
)
def test_many_practices_at_once_are_one_platform_alert_that_holds_the_others(
    failing: int, healthy: int, platform: bool
) -> None:
    evaluation = evaluate(_many(failing, healthy), NOW, SETTINGS)
    keys = [a.key for a in evaluation.active]
    if platform:
        assert keys == ["pms-relay:platform_degraded"]
        assert len(evaluation.suppressed) == failing
        assert (
            evaluation.active[0].summary
            == f"{failing} of {failing + healthy} practices alerting at once: circuit_open x{failing}"
        )
    else:
        assert len(keys) == failing
        assert not evaluation.suppressed


def test_a_disabled_condition_is_not_evaluated() -> None:
    settings = AlertSettings(disabled=frozenset({Condition.CIRCUIT_OPEN}))
    state = fleet(NOW, practice("es-1", NOW, circuit="open", circuit_since=ago(900)))
    assert evaluate(state, NOW, settings).active == ()
