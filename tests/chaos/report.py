"""A chaos run in words: the figures, each kill's recovery, and on failure every problem with its evidence."""

from __future__ import annotations

from tests.chaos.run import ChaosResult, Kill
from tests.chaos.verdict import (
    APPLIED_UNANSWERED,
    DOUBLE_OUTCOME,
    DOUBLE_WRITE,
    LOST,
    MALFORMED,
    PHANTOM,
    STRAY,
    UNDECODABLE,
    UNDELIVERED,
)

__all__ = ["describe", "kill_line", "seconds"]


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def kill_line(number: int, kill: Kill, first_send: float) -> str:
    r = kill.recovery
    head = f"kill {number}: worker {kill.worker} (slot {kill.slot}) at +{kill.at - first_send:.1f}s"
    if r is None:
        return head
    return (
        f"{head}: first answer after {seconds(r.first_answer_s)}, partitions stalled {list(r.stalled)}, "
        f"all partitions answering again after {seconds(r.flowing_s)}, answer rate back (>= half of "
        f"{r.rate_before:.0f}/s) after {seconds(r.rate_back_s)}, replacement ready after {seconds(kill.ready_after_s)}"
    )


def describe(result: ChaosResult) -> str:
    v, c = result.verdict, result.config
    cpu = (
        "-"
        if result.worker_cpu_s is None
        else f"{result.worker_cpu_s:.1f}s = {result.worker_cpu_s / max(1, v.commands) * 1000:.1f} ms per command"
    )
    outcomes = ", ".join(f"{k} {n}" for k, n in sorted(v.outcomes.items(), key=lambda kv: -kv[1]))
    fired = "; ".join(
        f"{vendor} {dict(sorted(kinds.items()))}" for vendor, kinds in result.faults_fired.items()
    )
    lines = [
        f"chaos run seed={c.seed}: {v.commands} commands + {v.malformed} malformed, {c.workers} workers, "
        f"{len(result.kills)} SIGKILL(s), {c.dentrix_practices} Dentrix + {c.eaglesoft_practices} Eaglesoft practices",
        f"  sent over {result.send_s:.1f}s; last first answer {seconds(result.answered_s)} after the first send; "
        f"whole run {result.wall_s:.1f}s",
        f"  answered {v.answered}/{v.commands}; lost {v.count(LOST)}; double outcomes {v.count(DOUBLE_OUTCOME)}; "
        f"double writes {v.count(DOUBLE_WRITE)}; applied but not answered with a result {v.count(APPLIED_UNANSWERED)}; "
        f"results with nothing applied {v.count(PHANTOM)}",
        f"  malformed answered VALIDATION {v.malformed_answered}/{v.malformed}; replays {v.replays} "
        f"({v.identical_replays} byte-identical); writes applied {v.writes_applied}; dead letters {result.dead_letters}; "
        f"stray answers {v.count(STRAY)}; undecodable answers {v.count(UNDECODABLE)}; undelivered {v.count(UNDELIVERED)}",
        f"  outcomes: {outcomes}",
        f"  faults fired: {fired}",
        f"  worker CPU {cpu}",
    ]
    lines.extend(f"  {kill_line(n, k, result.first_send)}" for n, k in enumerate(result.kills, start=1))
    lines.extend(f"  note: {note}" for note in result.notes)
    if v.problems:
        lines.append(f"PROBLEMS ({len(v.problems)}):")
        kinds = (
            LOST,
            DOUBLE_OUTCOME,
            DOUBLE_WRITE,
            APPLIED_UNANSWERED,
            PHANTOM,
            MALFORMED,
            STRAY,
            UNDECODABLE,
            UNDELIVERED,
        )
        lines.extend(f"  {kind}: {v.count(kind)}" for kind in kinds if v.count(kind))
        lines.append(f"evidence (workdir {result.workdir}):")
        lines.extend(f"  {line}" for line in result.evidence)
    return "\n".join(lines)
