"""Which alerts are active now: pure rules over one snapshot of the fleet, tested with tables.

The snapshot is the dashboard's :class:`~ops.dashboard.state.ClusterState` (status records, circuit
transitions, newest dead letters, the workers' group lag), folded from Kafka by the same feed. Each rule
returns :class:`ActiveAlert` values with a stable dedup key; the notifier decides what is sent. Summaries and
details carry ids, codes, counts and durations only: the snapshot holds nothing else, and nothing here reads a
command or a dead letter's value.

``platform_degraded``: when at least ``platform_min_practices`` practices, and ``platform_share`` of the known
ones, have a per-practice alert at once, one platform alert fires and the per-practice ones are returned as
*suppressed* (the notifier holds them: neither fired nor resolved until the platform alert clears).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.errors import ErrorCode
from ops.alerts.settings import AlertSettings, Condition
from ops.dashboard.levels import Thresholds as PageThresholds
from ops.dashboard.levels import silent
from ops.dashboard.records import Failure, PracticeStatus
from ops.dashboard.state import Alert as Transition
from ops.dashboard.state import ClusterState
from streams.topics import parse_retention

__all__ = ["ActiveAlert", "Evaluation", "evaluate", "open_since", "runbook"]

_REJECTED = frozenset({ErrorCode.UNAUTHORIZED.value, ErrorCode.FORBIDDEN.value})
PER_PRACTICE = frozenset(
    {Condition.CIRCUIT_OPEN, Condition.CREDENTIALS_REJECTED, Condition.NO_SUCCESS, Condition.ERROR_RATE}
)

# What to do, as the commands that exist (cli/). Where no command does the job, the line says so.
_RUNBOOK = {
    Condition.CIRCUIT_OPEN: (
        "The office's PMS keeps failing: `pms-relay config check -c practices.yaml --connect` tests its "
        "connection; the circuit closes by itself once a probe succeeds. Call the office if it stays open."
    ),
    Condition.CREDENTIALS_REJECTED: (
        "The office revoked the key or changed a password: update the practice's credentials in the registry "
        "(or its secret store), restart the workers, then `pms-relay config check -c practices.yaml --connect`."
    ),
    Condition.NO_SUCCESS: (
        "The office server looks down or unreachable: `pms-relay config check -c practices.yaml --connect`, "
        "then call the office; commands wait in the retry tiers meanwhile."
    ),
    Condition.ERROR_RATE: (
        "Open the practice on the dashboard: its recent failures, codes and traces say which calls fail; "
        "`pms-relay config check -c practices.yaml --connect` tests the connection."
    ),
    Condition.DEAD_LETTERS: (
        "`pms-relay dlq list` shows them (id, practice, code); fix the cause, then "
        "`pms-relay dlq redrive --command-id ID` (or `--all --practice P`)."
    ),
    Condition.COMMANDS_LAG: (
        "The workers are behind on pms.commands: check on the dashboard that they are running; add a "
        "`pms-relay worker` (up to the partition count) if they are busy."
    ),
    Condition.RETRY_OVERDUE: (
        "Retry copies wait past their due time: the workers are overloaded or stuck (dashboard: workers, retry "
        "tiers). No command drains a tier by hand; restart or add `pms-relay worker`s."
    ),
    Condition.PLATFORM_DEGRADED: (
        "Many practices fail at once: look for one cause (network, a vendor's cloud, a deploy, Kafka) before "
        "any office; the dashboard lists them worst first. Per-practice alerts are held meanwhile."
    ),
    Condition.TEST: "A test from `pms-relay alerts test`: nothing to do; it resolves at once.",
}


def runbook(condition: Condition) -> str:
    return _RUNBOOK[condition]


@dataclass(frozen=True)
class ActiveAlert:
    key: str  # the dedup key: stable for as long as the condition holds
    condition: Condition
    summary: str
    practice_id: str | None = None
    pms: str | None = None
    since: datetime | None = None  # when the condition began, when known
    trace_id: str | None = None
    details: Mapping[str, object] = field(default_factory=dict)  # ids, codes, counts, durations


@dataclass(frozen=True)
class Evaluation:
    active: tuple[ActiveAlert, ...]
    suppressed: frozenset[str] = frozenset()  # keys held by platform_degraded

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(alert.key for alert in self.active)


def evaluate(
    state: ClusterState,
    now: datetime,
    settings: AlertSettings,
    seen_open: Mapping[str, datetime] | None = None,
) -> Evaluation:
    """Every active alert of ``state`` at ``now``. ``seen_open``: when this service first saw a circuit open,
    for a practice whose record and transitions do not say (see :func:`open_since`)."""
    practice = [a for p in state.practices.values() for a in _practice(p, state, now, settings, seen_open)]
    fleet = [*_dead_letters(state, now, settings), *_lag(state, settings), *_overdue(state, now, settings)]
    enabled = [a for a in (*practice, *fleet) if a.condition not in settings.disabled]
    platform = _platform(enabled, len(state.practices), settings)
    if platform is None:
        return Evaluation(tuple(enabled))
    held = frozenset(a.key for a in enabled if a.condition in PER_PRACTICE)
    return Evaluation((platform, *(a for a in enabled if a.key not in held)), held)


# -- per practice ----------------------------------------------------------------------------------------


def practice_key(condition: Condition, p: PracticeStatus) -> str:
    """The dedup key of a per-practice alert: derived, so every condition spells it the same way."""
    return f"pms-relay:{condition.value}:{p.practice_id}:{pms_name(p.pms)}"


def pms_name(kind: str) -> str:
    """The PMS as the registry and ``alerts.yaml`` spell it (``eaglesoft``); status records carry the adapter's
    kind (``EAGLESOFT``). Keys, overrides and summaries all use the name, so a key reads like the config."""
    return kind.lower()


def _practice(
    p: PracticeStatus,
    state: ClusterState,
    now: datetime,
    settings: AlertSettings,
    seen_open: Mapping[str, datetime] | None,
) -> Iterable[ActiveAlert]:
    p = p.model_copy(update={"pms": pms_name(p.pms)})
    t = settings.thresholds_for(p.practice_id, p.pms)
    since = open_since(p, state.alerts, seen_open or {})
    if since is not None and (now - since).total_seconds() > t.circuit_open_s:
        yield ActiveAlert(
            practice_key(Condition.CIRCUIT_OPEN, p),
            Condition.CIRCUIT_OPEN,
            f"circuit {p.circuit} for {_minutes(now - since)} at practice {p.practice_id} ({p.pms}), "
            f"{p.failures} consecutive failures",
            p.practice_id, p.pms, since, _last_trace(p),
            {"circuit": p.circuit, "failures": p.failures, "open_s": round((now - since).total_seconds())},
        )  # fmt: skip
    rejected = _rejected(p)
    if rejected is not None:
        yield ActiveAlert(
            practice_key(Condition.CREDENTIALS_REJECTED, p),
            Condition.CREDENTIALS_REJECTED,
            f"{p.pms} rejected the credentials of practice {p.practice_id}: {rejected.code} "
            f"(command {rejected.command_id})",
            p.practice_id, p.pms, rejected.at, rejected.trace_id,
            {"code": rejected.code, "command_id": rejected.command_id},
        )  # fmt: skip
    yield from _no_success(p, state, now, t.no_success_s)
    window = p.window_5m
    rate = window.error_rate
    if rate is not None and window.finished >= t.error_rate_min_finished and rate > t.error_rate:
        yield ActiveAlert(
            practice_key(Condition.ERROR_RATE, p),
            Condition.ERROR_RATE,
            f"{rate:.0%} of commands failed at practice {p.practice_id} ({p.pms}) over 5 min: "
            f"{window.errors} of {window.finished}",
            p.practice_id, p.pms, None, _last_trace(p),
            {"errors": window.errors, "finished": window.finished, "codes": _codes(p)},
        )  # fmt: skip


def open_since(
    p: PracticeStatus, transitions: Iterable[Transition], seen_open: Mapping[str, datetime]
) -> datetime | None:
    """Since when the practice's circuit has not been closed, or None when it is closed. Half-open is not
    closed: a circuit that flaps between open and half-open keeps its first open time; only closing restarts
    the timer. From the status record's ``circuit_since`` when the worker knows it, else from the newest
    transitions on pms.alerts, else from when this service first saw it open."""
    if p.circuit == "closed":
        return None
    if p.circuit_since is not None:
        return p.circuit_since
    opened = None
    for transition in transitions:  # newest first
        if transition.practice_id != p.practice_id:
            continue
        if transition.new == "closed":
            break
        if transition.new == "open":
            opened = transition.at
    return opened or seen_open.get(p.practice_id)


def _rejected(p: PracticeStatus) -> Failure | None:
    """The newest UNAUTHORIZED/FORBIDDEN failure with no success after it."""
    for failure in p.recent_failures:  # newest first
        if failure.code in _REJECTED:
            if p.last_success_at is None or p.last_success_at < failure.at:
                return failure
            return None
    return None


def _no_success(
    p: PracticeStatus, state: ClusterState, now: datetime, limit_s: float
) -> Iterable[ActiveAlert]:
    """No successful PMS call for ``limit_s`` while the practice's commands finish with errors. Without a
    success since the worker started, the worker's start is the reference (it cannot know earlier ones)."""
    if p.window_5m.errors == 0:
        return
    worker = state.workers.get(p.worker_id)
    reference = p.last_success_at or (worker.started_at if worker is not None else None)
    if reference is None or (now - reference).total_seconds() <= limit_s:
        return
    yield ActiveAlert(
        practice_key(Condition.NO_SUCCESS, p),
        Condition.NO_SUCCESS,
        f"no successful {p.pms} call at practice {p.practice_id} for {_minutes(now - reference)} while "
        f"{p.window_5m.errors} commands failed in 5 min",
        p.practice_id, p.pms, reference, _last_trace(p),
        {"errors": p.window_5m.errors, "last_success_at": _iso(p.last_success_at), "codes": _codes(p)},
    )  # fmt: skip


# -- across the fleet ------------------------------------------------------------------------------------


def _dead_letters(state: ClusterState, now: datetime, settings: AlertSettings) -> Iterable[ActiveAlert]:
    """One alert for every recent dead letter, counted by practice and code (silenced practices left out)."""
    window = timedelta(seconds=settings.thresholds.dead_letters_window_s)
    recent = [
        d
        for d in state.dead_letters.newest
        if d.at is not None and d.at >= now - window and not settings.silenced(d.practice_id, now)
    ]
    if not recent:
        return
    counts = Counter((d.practice_id or "?", d.code or "?") for d in recent)
    listed = ", ".join(f"{practice} {code} x{n}" for (practice, code), n in sorted(counts.items()))
    yield ActiveAlert(
        "pms-relay:dead_letters",
        Condition.DEAD_LETTERS,
        f"{len(recent)} new dead letters in {_minutes(window)}: {listed}",
        since=min(d.at for d in recent if d.at is not None),
        trace_id=recent[0].trace_id,
        details={
            "count": len(recent),
            "by_practice_code": {f"{p}/{c}": n for (p, c), n in sorted(counts.items())},
            "command_ids": [d.command_id for d in recent[:10] if d.command_id],
            "depth": state.dead_letters.depth,
        },
    )


def _lag(state: ClusterState, settings: AlertSettings) -> Iterable[ActiveAlert]:
    lag, t = state.lag, settings.thresholds
    if lag is None or lag.error is not None:
        return
    seconds = lag.seconds or 0.0
    if lag.records <= t.commands_lag_records and seconds <= t.commands_lag_s:
        return
    yield ActiveAlert(
        f"pms-relay:commands_lag:{lag.topic}",
        Condition.COMMANDS_LAG,
        f"group {lag.group} is {lag.records} records behind on {lag.topic}, oldest unconsumed {seconds:.0f}s",
        details={"records": lag.records, "oldest_s": round(seconds), "group": lag.group, "topic": lag.topic},
    )


def _overdue(state: ClusterState, now: datetime, settings: AlertSettings) -> Iterable[ActiveAlert]:
    """A tier whose oldest copy, on any live worker, is overdue by more than the tier's delay (its name's)."""
    page = PageThresholds(status_interval_s=settings.status_interval_s)
    worst: dict[str, float] = {}
    for worker in state.workers.values():
        if silent(worker.updated_at, now, page):
            continue
        for topic, tier in worker.retry_tiers.items():
            worst[topic] = max(worst.get(topic, 0.0), tier.oldest_overdue_s)
    factor = settings.thresholds.retry_overdue_factor
    for topic, overdue in sorted(worst.items()):
        delay = tier_delay_s(topic)
        if delay is not None and overdue > factor * delay:
            yield ActiveAlert(
                f"pms-relay:retry_overdue:{topic}",
                Condition.RETRY_OVERDUE,
                f"the oldest copy on {topic} is {overdue:.0f}s overdue (its delay: {delay:g}s)",
                details={"topic": topic, "overdue_s": round(overdue, 1), "delay_s": delay},
            )


def tier_delay_s(topic: str) -> float | None:
    """A retry tier's delay from its name (``<prefix>pms.commands.retry.10s``: streams/topics.py names them)."""
    _, marker, suffix = topic.rpartition(".retry.")
    if not marker:
        return None
    try:
        return parse_retention(suffix) / 1000
    except ValueError:
        return None


def _platform(alerts: list[ActiveAlert], known: int, settings: AlertSettings) -> ActiveAlert | None:
    if Condition.PLATFORM_DEGRADED in settings.disabled:
        return None
    t = settings.thresholds
    failing = {a.practice_id for a in alerts if a.condition in PER_PRACTICE}
    if not known or len(failing) < t.platform_min_practices or len(failing) < t.platform_share * known:
        return None
    by_condition = Counter(a.condition.value for a in alerts if a.condition in PER_PRACTICE)
    return ActiveAlert(
        "pms-relay:platform_degraded",
        Condition.PLATFORM_DEGRADED,
        f"{len(failing)} of {known} practices alerting at once: "
        + ", ".join(f"{name} x{n}" for name, n in sorted(by_condition.items())),
        details={
            "practices": len(failing),
            "known": known,
            "by_condition": dict(sorted(by_condition.items())),
        },
    )


# -- small helpers ---------------------------------------------------------------------------------------


def _last_trace(p: PracticeStatus) -> str | None:
    return p.last_error.trace_id if p.last_error is not None else None


def _codes(p: PracticeStatus) -> dict[str, int]:
    return dict(sorted(Counter(f.code for f in p.recent_failures).items()))


def _minutes(span: timedelta) -> str:
    seconds = max(0, round(span.total_seconds()))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()
