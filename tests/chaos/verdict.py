"""The verdict of a chaos run: every guarantee checked from the outside, from what was sent, what the broker
carried back and what the sandboxes hold. Pure: no I/O, so every rule is tested with tables
(``tests/unit/test_chaos_verdict.py``).

Per command id:

- **lost**: no answer at all on the results or errors topic;
- **double outcome**: more than one distinct ``ce_id`` among its answers, or answers that disagree (a result
  and an error, two error codes) under one ``ce_id``: a consumer that drops duplicates by ``ce_id`` keeps
  whichever came first. The same outcome again under the same ``ce_id`` is a *replay* (counted, allowed):
  *identical* when the bytes are the same (a stored answer), else re-executed (a read run again);
- **double write**: the PMS holds more than one record with the command's reference, or an update's target
  was written more than once;
- **applied, not answered with a result**: the PMS shows the write, the platform got no result for it;
- **result, nothing applied**: a write answered with a result while the PMS holds no record of it.

Per malformed message: answered on the errors topic with code ``VALIDATION`` under the ``ce_id`` named after
where it was read. Any other answer (no known command, no known malformed message) is a **stray**.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tests.chaos.collector import Seen
from tests.chaos.readout import WriteReadout
from tests.chaos.workload import Planned

__all__ = ["MalformedSent", "Problem", "Verdict", "judge"]

LOST = "lost"
DOUBLE_OUTCOME = "double outcome"
DOUBLE_WRITE = "double write"
APPLIED_UNANSWERED = "applied, not answered with a result"
PHANTOM = "result, nothing applied"
MALFORMED = "malformed, not answered VALIDATION"
STRAY = "stray answer"
UNDECODABLE = "undecodable answer"
UNDELIVERED = "not delivered by the producer"


@dataclass(frozen=True)
class MalformedSent:
    label: str
    where: str  # partition:offset
    event_id: str | None  # None: not delivered


@dataclass(frozen=True)
class Problem:
    kind: str
    subject: str  # a command id, or a malformed message's label@partition:offset
    detail: str


@dataclass(frozen=True)
class Verdict:
    commands: int
    malformed: int
    answered: int
    malformed_answered: int
    writes_applied: int
    replays: int
    identical_replays: int
    outcomes: Mapping[str, int]  # the first outcome of each command: "result", "error CODE"
    problems: tuple[Problem, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)  # problem kind -> commands with it

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, kind: str) -> int:
        return self.counts.get(kind, 0)


def judge(
    commands: Sequence[Planned],
    malformed: Sequence[MalformedSent],
    seen: Sequence[Seen],
    writes: Mapping[str, WriteReadout],
    *,
    undelivered: Sequence[str] = (),
) -> Verdict:
    malformed_ids = {m.event_id for m in malformed if m.event_id is not None}
    known = {p.command_id for p in commands}
    by_command: dict[str, list[Seen]] = defaultdict(list)
    by_event: dict[str, list[Seen]] = defaultdict(list)
    problems = [Problem(UNDELIVERED, subject, "") for subject in undelivered]
    for answer in sorted(seen, key=lambda s: s.arrived):
        if answer.ce_id is not None and answer.ce_id in malformed_ids:
            by_event[answer.ce_id].append(answer)
        elif answer.command_id in known:
            by_command[str(answer.command_id)].append(answer)
        elif answer.outcome == "undecodable":
            problems.append(Problem(UNDECODABLE, str(answer.command_id), _where(answer) + " " + answer.note))
        else:
            problems.append(Problem(STRAY, str(answer.command_id or answer.ce_id), _describe([answer])))
    tally = _Tally()
    skip = set(undelivered)
    for planned in commands:
        if planned.command_id not in skip:
            problems.extend(tally.command(planned, by_command.get(planned.command_id, []), writes))
    for sent in malformed:
        if sent.event_id is not None:
            problems.extend(tally.malformed(sent, by_event.get(sent.event_id, [])))
    counts = Counter(p.kind for p in problems)
    return Verdict(
        commands=len(commands),
        malformed=len(malformed),
        answered=tally.answered,
        malformed_answered=tally.malformed_answered,
        writes_applied=tally.applied,
        replays=tally.replays,
        identical_replays=tally.identical,
        outcomes=dict(tally.outcomes),
        problems=tuple(problems),
        counts=dict(counts),
    )


class _Tally:
    def __init__(self) -> None:
        self.answered = self.malformed_answered = self.applied = self.replays = self.identical = 0
        self.outcomes: Counter[str] = Counter()

    def command(
        self, planned: Planned, answers: list[Seen], writes: Mapping[str, WriteReadout]
    ) -> list[Problem]:
        subject = planned.command_id
        found: list[Problem] = []
        if answers:
            self.answered += 1
            self.outcomes[answers[0].outcome] += 1
            found.extend(self._one_outcome(subject, answers))
        else:
            found.append(
                Problem(LOST, subject, f"{planned.command.command_type.value} {planned.command.practice_id}")
            )
        if planned.is_write:
            found.extend(self._write(subject, answers, writes.get(subject)))
        return found

    def _one_outcome(self, subject: str, answers: list[Seen]) -> list[Problem]:
        events = {a.ce_id for a in answers}
        outcomes = {a.outcome for a in answers}
        if len(events) > 1 or len(outcomes) > 1:
            return [Problem(DOUBLE_OUTCOME, subject, _describe(answers))]
        self.replays += len(answers) - 1
        self.identical += sum(1 for a in answers[1:] if a.digest == answers[0].digest)
        return []

    def _write(self, subject: str, answers: list[Seen], readout: WriteReadout | None) -> list[Problem]:
        if readout is None:
            return [Problem(APPLIED_UNANSWERED, subject, "no read-out of the PMS for this write")]
        applied = max(readout.records, readout.applied or 0)
        stored = f"PMS holds {readout.records} {list(readout.where)}" + (
            "" if readout.applied is None else f", target written {readout.applied}x"
        )
        found = []
        if applied > 1:
            found.append(Problem(DOUBLE_WRITE, subject, stored))
        has_result = any(a.is_result for a in answers)
        if applied >= 1:
            self.applied += 1
            if not has_result:
                found.append(Problem(APPLIED_UNANSWERED, subject, f"{stored}; answers {_describe(answers)}"))
        elif has_result:
            found.append(Problem(PHANTOM, subject, f"{stored}; answers {_describe(answers)}"))
        return found

    def malformed(self, sent: MalformedSent, answers: list[Seen]) -> list[Problem]:
        subject = f"{sent.label}@{sent.where}"
        if not answers:
            return [Problem(MALFORMED, subject, "no answer")]
        if any(a.outcome != "error VALIDATION" for a in answers):
            return [Problem(MALFORMED, subject, _describe(answers))]
        self.malformed_answered += 1
        self.replays += len(answers) - 1
        self.identical += sum(1 for a in answers[1:] if a.digest == answers[0].digest)
        return []


def _where(answer: Seen) -> str:
    return f"{answer.topic}:{answer.partition}@{answer.offset}"


def _describe(answers: Sequence[Seen]) -> str:
    return (
        "["
        + "; ".join(
            f"{a.outcome} attempts={a.attempts} ce_id={(a.ce_id or '-')[:8]} at {_where(a)}" for a in answers
        )
        + "]"
    )
