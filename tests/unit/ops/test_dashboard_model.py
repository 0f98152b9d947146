"""The dashboard's pure parts, by tables: status records, the state they fold into, red/amber/green, the
page's rows and their order, and what is read from alerts, dead letters and offsets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ops.dashboard.levels import (
    Level,
    Thresholds,
    alerting_level,
    lag_level,
    practice_level,
    tier_level,
    worker_level,
)
from ops.dashboard.messages import parse_alert, parse_dead_letter, partition_lag, trace_id_of
from ops.dashboard.page import ago, percent
from ops.dashboard.records import AlertsStatus, PracticeStatus, Tombstone, WorkerStatus, parse_status
from ops.dashboard.sample import OPEN, sample_state
from ops.dashboard.settings import DashboardSettings
from ops.dashboard.state import ClusterState, GroupLag
from ops.dashboard.view import build_view, plain

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
T = Thresholds()


def _at(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).isoformat()


def worker(**fields: Any) -> dict[str, Any]:
    return {
        "worker_id": "w1", "host": "h", "pid": 1, "version": "0.1.0", "state": "running",
        "partitions": ["pms.commands:0"], "started_at": _at(600), "updated_at": _at(1),
        "commands_in": 100, "answers_out": 98, "in_flight": 2, "max_in_flight": 100,
        "retry_tiers": {"pms.commands.retry.10s": {"depth": 1, "oldest_overdue_s": 0.0}},
        "dead_letters_written": 0,
    } | fields  # fmt: skip


def practice(**fields: Any) -> dict[str, Any]:
    return {
        "practice_id": "p1", "pms": "dentrix", "worker_id": "w1", "circuit": "closed", "failures": 0,
        "parked_until": None, "last_success_at": _at(3), "last_error": None, "recent_failures": [],
        "window_5m": {"finished": 10, "errors": 0}, "window_60m": {"finished": 100, "errors": 0},
        "pms_latency_ms": {"p50": 80.0, "p95": 200.0}, "slots_in_use": 1, "slots": 4, "backlog": 0,
        "updated_at": _at(1),
    } | fields  # fmt: skip


def alerting(**fields: Any) -> dict[str, Any]:
    return {
        "instance_id": "a1", "leader": True, "sinks": ["pager"], "firing": 1, "undelivered": 0,
        "last_failures": {}, "updated_at": _at(1),
    } | fields  # fmt: skip


def _a(**fields: Any) -> AlertsStatus:
    return AlertsStatus.model_validate(alerting(**fields))


def _p(**fields: Any) -> PracticeStatus:
    return PracticeStatus.model_validate(practice(**fields))


def _w(**fields: Any) -> WorkerStatus:
    return WorkerStatus.model_validate(worker(**fields))


# -- records ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [
        (b"worker|w1", json.dumps(worker()).encode(), WorkerStatus),
        (b"practice|p1", json.dumps(practice()).encode(), PracticeStatus),
        (b"practice|p1", json.dumps(practice(extra_field_from_a_newer_worker=1)).encode(), PracticeStatus),
        (b"worker|w1", None, Tombstone),
        (b"alerts|a1", json.dumps(alerting()).encode(), AlertsStatus),
        (b"alerts|a1", None, Tombstone),
        (b"alerts|a1", json.dumps(alerting(undelivered=-1)).encode(), type(None)),
        (b"practice|p1", b"{not json", type(None)),
        (b"practice|p1", json.dumps(practice(circuit="sideways")).encode(), type(None)),
        (b"worker|w1", json.dumps({"worker_id": "w1"}).encode(), type(None)),
        (b"something-else", b"{}", type(None)),
        (None, b"{}", type(None)),
    ],
)
def test_parse_status(key: bytes | None, value: bytes | None, kind: type) -> None:
    assert isinstance(parse_status(key, value), kind)


def test_state_folds_records_tombstones_and_rates() -> None:
    state = ClusterState()
    state.apply(parse_status(b"worker|w1", json.dumps(worker(updated_at=_at(6))).encode()))
    state.apply(parse_status(b"worker|w1", json.dumps(worker(commands_in=150, answers_out=138)).encode()))
    state.apply(parse_status(b"practice|p1", json.dumps(practice()).encode()))
    state.apply(parse_status(b"practice|p1", b"garbage"))
    assert state.throughput["w1"].in_per_s == pytest.approx(10.0)
    assert state.throughput["w1"].out_per_s == pytest.approx(8.0)
    assert set(state.practices) == {"p1"}
    assert state.skipped == 1

    state.apply(parse_status(b"worker|w1", None))
    state.apply(parse_status(b"practice|p1", None))
    assert state.workers == {}
    assert state.practices == {}
    assert state.throughput == {}


def test_a_restarted_worker_has_no_rate_from_its_old_counters() -> None:
    state = ClusterState()
    state.apply(parse_status(b"worker|w1", json.dumps(worker(updated_at=_at(6))).encode()))
    state.apply(parse_status(b"worker|w1", json.dumps(worker(started_at=_at(2), commands_in=3)).encode()))
    assert state.throughput["w1"].in_per_s == 0.0


def test_state_keeps_each_alerts_instance_until_its_tombstone() -> None:
    state = ClusterState()
    state.apply(parse_status(b"alerts|a1", json.dumps(alerting()).encode()))
    state.apply(parse_status(b"alerts|a2", json.dumps(alerting(instance_id="a2", leader=False)).encode()))
    assert sorted(state.alerting) == ["a1", "a2"]
    assert state.skipped == 0  # the alerts service's records are contract records too
    state.apply(parse_status(b"alerts|a1", None))
    assert sorted(state.alerting) == ["a2"]


def test_alerts_keep_the_newest() -> None:
    state = ClusterState(alert_limit=2)
    for n in range(3):
        body = {
            "practice_id": f"p{n}",
            "pms": "dentrix",
            "from": "closed",
            "to": "open",
            "failures": 5,
            "at": _at(10 - n),
        }
        alert = parse_alert(json.dumps(body).encode())
        assert alert is not None
        state.add_alert(alert)
    assert [a.practice_id for a in state.alerts] == ["p2", "p1"]


# -- levels ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "level", "reason"),
    [
        ({}, Level.GREEN, "ok"),
        ({"circuit": "open"}, Level.RED, "circuit open"),
        ({"updated_at": _at(16)}, Level.RED, "silent: no status from its worker"),
        ({"updated_at": _at(14)}, Level.GREEN, "ok"),
        ({"window_5m": {"finished": 10, "errors": 5}}, Level.RED, "50% errors (5 min)"),
        ({"window_5m": {"finished": 2, "errors": 2}}, Level.GREEN, "ok"),  # too few to be a trend
        ({"circuit": "half-open"}, Level.AMBER, "circuit half-open"),
        ({"parked_until": (NOW + timedelta(seconds=30)).isoformat()}, Level.AMBER, "parked (rate limited)"),
        ({"parked_until": _at(30)}, Level.GREEN, "ok"),  # parked in the past: free again
        ({"window_5m": {"finished": 20, "errors": 1}}, Level.AMBER, "5% errors (5 min)"),
        ({"slots_in_use": 4, "backlog": 3}, Level.AMBER, "every slot busy, backlog waiting"),
        ({"slots_in_use": 4, "backlog": 0}, Level.GREEN, "ok"),
        ({"pms_latency_ms": {"p50": 900.0, "p95": 2500.0}}, Level.AMBER, "slow PMS (p95)"),
        ({"circuit": "open", "updated_at": _at(60)}, Level.RED, "circuit open"),  # the worst reason first
    ],
)
def test_practice_level(fields: dict[str, Any], level: Level, reason: str) -> None:
    assert practice_level(_p(**fields), NOW, T) == (level, reason)


@pytest.mark.parametrize(
    ("fields", "level"),
    [
        ({}, Level.GREEN),
        ({"updated_at": _at(20)}, Level.RED),
        ({"state": "rebalancing"}, Level.AMBER),
        ({"state": "starting"}, Level.AMBER),
        ({"in_flight": 95}, Level.AMBER),
        ({"partitions": []}, Level.AMBER),
    ],
)
def test_worker_level(fields: dict[str, Any], level: Level) -> None:
    assert worker_level(_w(**fields), NOW, T)[0] is level


FAILED = {"slack": {"reason": "HTTP 503", "at": _at(40), "dedup_key": "pms-relay:circuit_open:p1:dentrix"}}


@pytest.mark.parametrize(
    ("services", "level", "reason"),
    [
        ([], Level.GREEN, "no alerts service seen"),
        ([alerting()], Level.GREEN, "leader a1, all delivered"),
        ([alerting(undelivered=1, last_failures=FAILED)], Level.RED, "1 alert not delivered"),
        ([alerting(undelivered=3)], Level.RED, "3 alerts not delivered"),
        ([alerting(leader=False)], Level.AMBER, "no alerts leader (electing)"),
        ([alerting(updated_at=_at(60))], Level.AMBER, "alerts service silent: nobody is paged"),
        # a standby's count is not the leader's; a silent old leader's neither
        ([alerting(undelivered=2, updated_at=_at(60)), alerting(instance_id="a2")], Level.GREEN, "leader a2, all delivered"),
    ],
)  # fmt: skip
def test_alerting_level(services: list[dict[str, Any]], level: Level, reason: str) -> None:
    assert alerting_level([AlertsStatus.model_validate(s) for s in services], NOW, T) == (level, reason)


def test_undelivered_alerts_turn_the_page_red_and_name_the_sink() -> None:
    state = ClusterState()
    state.apply(parse_status(b"worker|w1", json.dumps(worker()).encode()))
    state.lag = GroupLag("g", "pms.commands")
    state.apply(
        parse_status(b"alerts|a1", json.dumps(alerting(undelivered=1, last_failures=FAILED)).encode())
    )
    view = build_view(state, NOW, DashboardSettings())
    assert view.level is Level.RED
    assert view.alerting.undelivered == 1
    assert [(r.sink, r.failure.reason) for r in view.alerting.failures] == [("slack", "HTTP 503")]
    assert plain(view)["alerting"]["level"] == "red"
    state.apply(parse_status(b"alerts|a1", json.dumps(alerting()).encode()))
    assert build_view(state, NOW, DashboardSettings()).alerting.level is Level.GREEN


@pytest.mark.parametrize(("overdue", "level"), [(0.0, Level.GREEN), (5.0, Level.AMBER), (61.0, Level.RED)])
def test_tier_level(overdue: float, level: Level) -> None:
    assert tier_level(overdue, T) is level


@pytest.mark.parametrize(
    ("lag", "level"),
    [
        (None, Level.AMBER),
        (GroupLag("g", "t", error="no topic t"), Level.AMBER),
        (GroupLag("g", "t", (partition_lag(0, 10, 0, 10, None, NOW),)), Level.GREEN),
        (
            GroupLag("g", "t", (partition_lag(0, 5, 0, 10, int((NOW.timestamp() - 40) * 1000), NOW),)),
            Level.AMBER,
        ),
        (
            GroupLag("g", "t", (partition_lag(0, 5, 0, 10, int((NOW.timestamp() - 400) * 1000), NOW),)),
            Level.RED,
        ),
    ],
)
def test_lag_level(lag: GroupLag | None, level: Level) -> None:
    assert lag_level(lag, T)[0] is level


# -- offsets, headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("committed", "low", "high", "oldest_s_ago", "records", "seconds"),
    [
        (10, 0, 10, None, 0, 0.0),  # caught up
        (7, 0, 10, 4.0, 3, 4.0),
        (None, 2, 10, 9.0, 8, 9.0),  # nothing committed yet: from the log's start
        (1, 5, 10, 2.0, 5, 2.0),  # committed below the start (retention): from the start
        (7, 0, 10, None, 3, None),  # the oldest record not read in time: seconds unknown
    ],
)
def test_partition_lag(
    committed: int | None,
    low: int,
    high: int,
    oldest_s_ago: float | None,
    records: int,
    seconds: float | None,
) -> None:
    oldest = None if oldest_s_ago is None else int((NOW.timestamp() - oldest_s_ago) * 1000)
    lag = partition_lag(0, committed, low, high, oldest, NOW)
    assert lag.records == records
    assert lag.seconds == (pytest.approx(seconds, abs=0.01) if seconds is not None else None)


@pytest.mark.parametrize(
    ("traceparent", "trace_id"),
    [
        (b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736"),
        (b"00-00000000000000000000000000000000-00f067aa0ba902b7-01", None),
        (b"00-nothex7b34da6a3ce929d0e0e4736zz-00f067aa0ba902b7-01", None),
        (b"garbage", None),
        (None, None),
    ],
)
def test_trace_id_of(traceparent: bytes | None, trace_id: str | None) -> None:
    headers = [] if traceparent is None else [("traceparent", traceparent)]
    assert trace_id_of(headers) == trace_id


def test_a_dead_letter_is_read_from_its_headers_alone() -> None:
    headers = [
        ("ce_id", b"c-1"), ("ce_type", b"pms.command.SearchPatients.v1"), ("pms-attempts", b"4"),
        ("pms-hop", b"3"), ("pms-first-seen", _at(60).encode()), ("pms-origin-topic", b"pms.commands"),
        ("pms-origin-partition", b"1"), ("pms-origin-offset", b"7"), ("pms-error-code", b"UNAVAILABLE"),
        ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    ]  # fmt: skip
    letter = parse_dead_letter(1, 9, b"p1", headers, int(NOW.timestamp() * 1000))
    assert (letter.command_id, letter.command_type, letter.practice_id) == ("c-1", "SearchPatients", "p1")
    assert (letter.code, letter.attempts, letter.at) == ("UNAVAILABLE", 4, NOW)
    assert letter.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    "body", [b"", b"{}", b'{"practice_id": "p"}', b"[1]", b'{"practice_id":"p","from":"a","to":"b","at":"x"}']
)
def test_parse_alert_rejects_what_is_not_a_circuit_alert(body: bytes) -> None:
    assert parse_alert(body) is None


# -- the view --------------------------------------------------------------------------------------------


def test_the_view_puts_the_worst_first_and_links_traces() -> None:
    settings = DashboardSettings(zipkin_url="http://z:9411/", prefix="demo.")
    view = build_view(sample_state(40, NOW), NOW, settings)
    levels = [row.level for row in view.practices]
    assert levels == sorted(levels, reverse=True)
    assert view.practices[0].status.practice_id == OPEN
    assert view.practices[0].level is Level.RED
    assert view.level is Level.RED
    assert sum(view.counts.values()) == 40
    assert all(f.trace_url and f.trace_url.startswith("http://z:9411/zipkin/traces/") for f in view.failures)
    assert [f.at for f in view.failures] == sorted((f.at for f in view.failures), reverse=True)
    letter = view.dead_letters[0]
    assert letter.redrive == (
        f"pms-relay dlq redrive --command-id {letter.letter.command_id} --bootstrap-servers localhost:9092 --prefix demo."
    )
    tiers = {t.topic: t for t in view.tiers}
    assert tiers["demo.pms.commands.retry.2s"].depth == 5  # both workers' copies
    assert tiers["demo.pms.commands.retry.10s"].level is Level.AMBER
    assert view.throughput.in_per_s == pytest.approx(24.0)


def test_without_zipkin_there_are_no_trace_links() -> None:
    view = build_view(sample_state(8, NOW), NOW, DashboardSettings())
    assert view.failures
    assert not any(f.trace_url for f in view.failures)
    assert not any(row.trace_url for row in view.practices)


def test_a_silent_workers_tiers_and_rates_are_left_out() -> None:
    state = sample_state(4, NOW)
    later = NOW + timedelta(minutes=5)
    view = build_view(state, later, DashboardSettings())
    assert all(row.level is Level.RED for row in view.workers)
    assert view.tiers == ()
    assert view.throughput.in_per_s == 0.0


def test_an_empty_cluster_is_amber_not_an_error() -> None:
    view = build_view(ClusterState(), NOW, DashboardSettings())
    assert view.level is Level.AMBER
    assert view.practices == ()
    assert view.workers == ()


def test_the_view_serialises_to_plain_json() -> None:
    data = plain(build_view(sample_state(6, NOW), NOW, DashboardSettings()))
    text = json.dumps(data)
    assert data["level"] == "red"
    assert data["practices"][0]["level"] == "red"
    assert data["lag"]["records"] == 5
    assert json.loads(text)["practices"][0]["status"]["practice_id"] == OPEN


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s ago"), (42, "42s ago"), (600, "10m ago"), (7200, "2h ago"), (-40, "in 40s")]
)
def test_ago(seconds: float, text: str) -> None:
    assert ago(NOW - timedelta(seconds=seconds), NOW) == text


@pytest.mark.parametrize(("rate", "text"), [(None, "-"), (0.0, "0%"), (0.004, "<1%"), (0.5, "50%")])
def test_percent(rate: float | None, text: str) -> None:
    assert percent(rate) == text
