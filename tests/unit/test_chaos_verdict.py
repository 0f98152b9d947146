"""The chaos run's judge and recovery arithmetic (tests/chaos/verdict.py, recovery.py): pure, table-driven.

A bug here would let a lost or doubled command pass for a clean run, so each rule is pinned by a case.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from schemas.envelopes import CommandEnvelope, CommandType
from tests.chaos.collector import Seen
from tests.chaos.readout import WriteReadout
from tests.chaos.recovery import recovery
from tests.chaos.verdict import (
    APPLIED_UNANSWERED,
    DOUBLE_OUTCOME,
    DOUBLE_WRITE,
    LOST,
    MALFORMED,
    PHANTOM,
    STRAY,
    MalformedSent,
    judge,
)
from tests.chaos.workload import Planned, Target

READ = Planned(
    CommandEnvelope.model_validate(
        {
            "command_id": uuid.UUID(int=1),
            "command_type": CommandType.LIST_LOCATIONS,
            "practice_id": "dx-1",
            "issued_at": datetime(2026, 3, 2, tzinfo=UTC),
            "payload": {},
        }
    )
)
WRITE = Planned(
    CommandEnvelope.model_validate(
        {
            "command_id": uuid.UUID(int=2),
            "command_type": CommandType.UPDATE_PATIENT,
            "practice_id": "dx-1",
            "issued_at": datetime(2026, 3, 2, tzinfo=UTC),
            "payload": {"patient_id": "7", "updates": {"preferred_name": "X"}},
        }
    ),
    Target("dentrix", "patients", "7"),
)
BAD = MalformedSent("garbage", "0:5", "bad-event")


def seen(
    command_id: str | None, outcome: str = "result", ce_id: str = "e1", digest: str = "d", at: float = 1.0
) -> Seen:
    return Seen("t", 0, 0, at, ce_id, command_id, outcome, 1, digest)


R, W = READ.command_id, WRITE.command_id
APPLIED = WriteReadout(1, ("patients/7",), 1)
NOTHING = WriteReadout(0, (), 0)


@pytest.mark.parametrize(
    ("answers", "writes", "problems"),
    [
        ([seen(R), seen(W, ce_id="e2"), seen(None, "error VALIDATION", "bad-event")], {W: APPLIED}, []),
        ([seen(W, ce_id="e2"), seen(None, "error VALIDATION", "bad-event")], {W: APPLIED}, [LOST]),
        (
            [
                seen(R),
                seen(R, ce_id="other"),
                seen(W, ce_id="e2"),
                seen(None, "error VALIDATION", "bad-event"),
            ],
            {W: APPLIED},
            [DOUBLE_OUTCOME],
        ),
        # One ce_id, two outcomes: a consumer dropping duplicates by ce_id keeps whichever came first.
        (
            [
                seen(R),
                seen(R, "error TIMEOUT"),
                seen(W, ce_id="e2"),
                seen(None, "error VALIDATION", "bad-event"),
            ],
            {W: APPLIED},
            [DOUBLE_OUTCOME],
        ),
        (
            [seen(R), seen(W, ce_id="e2"), seen(None, "error VALIDATION", "bad-event")],
            {W: WriteReadout(2, ("a", "b"), 1)},
            [DOUBLE_WRITE],
        ),
        (
            [seen(R), seen(W, ce_id="e2"), seen(None, "error VALIDATION", "bad-event")],
            {W: WriteReadout(1, ("a",), 2)},
            [DOUBLE_WRITE],
        ),
        (
            [seen(R), seen(W, "error UNAVAILABLE", "e2"), seen(None, "error VALIDATION", "bad-event")],
            {W: APPLIED},
            [APPLIED_UNANSWERED],
        ),
        ([seen(R), seen(None, "error VALIDATION", "bad-event")], {W: APPLIED}, [LOST, APPLIED_UNANSWERED]),
        (
            [seen(R), seen(W, ce_id="e2"), seen(None, "error VALIDATION", "bad-event")],
            {W: NOTHING},
            [PHANTOM],
        ),
        (
            [seen(R), seen(W, "error CONFLICT", "e2"), seen(None, "error VALIDATION", "bad-event")],
            {W: NOTHING},
            [],
        ),
        ([seen(R), seen(W, ce_id="e2")], {W: APPLIED}, [MALFORMED]),
        (
            [seen(R), seen(W, ce_id="e2"), seen(None, "error INTERNAL", "bad-event")],
            {W: APPLIED},
            [MALFORMED],
        ),
        (
            [seen(R), seen(W, ce_id="e2"), seen(None, "error VALIDATION", "bad-event"), seen("x", ce_id="y")],
            {W: APPLIED},
            [STRAY],
        ),
    ],
)
def test_each_broken_guarantee_is_one_problem(
    answers: list[Seen], writes: dict[str, WriteReadout], problems: list[str]
) -> None:
    verdict = judge([READ, WRITE], [BAD], answers, writes)
    assert sorted(p.kind for p in verdict.problems) == sorted(problems)
    assert verdict.ok is (not problems)


def test_replays_are_counted_not_failed_and_identical_bytes_are_told_apart() -> None:
    answers = [seen(R, digest="a"), seen(R, digest="a", at=2), seen(R, digest="b", at=3), seen(W, ce_id="e2")]
    answers.append(seen(None, "error VALIDATION", "bad-event"))
    verdict = judge([READ, WRITE], [BAD], answers, {W: APPLIED})
    assert verdict.ok
    assert (verdict.replays, verdict.identical_replays) == (2, 1)
    assert (verdict.answered, verdict.malformed_answered, verdict.writes_applied) == (2, 1, 1)


def test_an_undelivered_command_is_the_producers_problem_not_a_loss() -> None:
    verdict = judge([READ], [], [], {}, undelivered=[R])
    assert [p.kind for p in verdict.problems] == ["not delivered by the producer"]


SENT = {"a": (0, 1.0), "b": (1, 1.0), "c": (1, 2.0), "d": (0, 12.0)}


@pytest.mark.parametrize(
    ("answers", "stalled", "flowing"),
    [
        # Partition 1 had work pending at the kill (t=5) and answered again only at t=16.
        ({"a": 6.0, "b": 16.0, "c": 16.1, "d": 12.5}, (1,), 11.0),
        # An answer on its way at the kill (within 0.5 s) does not count as the partition answering again.
        ({"a": 5.1, "b": 5.3, "c": 15.0, "d": 12.5}, (0, 1), 10.0),
        ({"a": 2.0, "b": 3.0, "c": 4.0, "d": 12.5}, (), None),
    ],
)
def test_recovery_finds_the_partitions_that_went_quiet(
    answers: dict[str, float], stalled: tuple[int, ...], flowing: float | None
) -> None:
    found = recovery(5.0, SENT, answers, horizon=20.0)
    assert found.stalled == stalled
    assert found.flowing_s == (pytest.approx(flowing) if flowing is not None else None)
