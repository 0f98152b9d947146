"""Classification and the window, table-driven: every outcome, every fate of an answer without a command."""

from __future__ import annotations

import pytest

from streams.audit.classify import AnswerFate, Outcome, answer_fate, is_duplicate, outcome_of
from streams.audit.ledger import AnswerKind
from streams.audit.window import AuditWindow

MIN = 60_000
# range [0, 60 min), horizon 10 min, as of 65 min
WINDOW = AuditWindow(start_ms=0, end_ms=60 * MIN, horizon_ms=10 * MIN, now_ms=65 * MIN)


@pytest.mark.parametrize(
    ("kind", "dead_lettered", "command_ms", "expected"),
    [
        (AnswerKind.RESULT, False, 1 * MIN, Outcome.RESULT),
        (AnswerKind.RESULT, True, 1 * MIN, Outcome.RESULT),  # redriven after its dead letter, then answered
        (AnswerKind.ERROR, False, 1 * MIN, Outcome.ERROR),
        (AnswerKind.ERROR, True, 1 * MIN, Outcome.DEAD_LETTER),
        (AnswerKind.NONE, True, 1 * MIN, Outcome.DEAD_LETTER),  # a dead letter whose error is not found
        (AnswerKind.NONE, False, 1 * MIN, Outcome.MISSING),
        (AnswerKind.NONE, False, 55 * MIN, Outcome.MISSING),  # 55 + 10 = 65: its horizon has just passed
        (AnswerKind.NONE, False, 55 * MIN + 1, Outcome.PENDING),
        (AnswerKind.NONE, False, 60 * MIN - 1, Outcome.PENDING),
    ],
)
def test_outcome_of(kind: AnswerKind, dead_lettered: bool, command_ms: int, expected: Outcome) -> None:
    assert outcome_of(kind, dead_lettered, command_ms, WINDOW) is expected


@pytest.mark.parametrize(
    ("distinct", "redrives", "duplicate"),
    [(0, 0, False), (1, 0, False), (2, 0, True), (2, 1, False), (3, 1, True), (3, 2, False)],
)
def test_is_duplicate(distinct: int, redrives: int, duplicate: bool) -> None:
    assert is_duplicate(distinct, redrives) is duplicate


@pytest.mark.parametrize(
    ("answer_ms", "earlier", "fate"),
    [
        (1 * MIN, True, AnswerFate.EARLIER),
        (61 * MIN, True, AnswerFate.EARLIER),
        (1 * MIN, False, AnswerFate.ORPHAN),
        (60 * MIN - 1, False, AnswerFate.ORPHAN),
        (60 * MIN, False, AnswerFate.LATER),  # in the horizon: a command after the range
    ],
)
def test_answer_fate(answer_ms: int, earlier: bool, fate: AnswerFate) -> None:
    assert answer_fate(answer_ms, earlier, WINDOW) is fate


@pytest.mark.parametrize(
    ("now", "read_end"),
    [(65 * MIN, 65 * MIN), (70 * MIN, 70 * MIN), (99 * MIN, 70 * MIN), (-5 * MIN, 0)],
)
def test_answers_are_read_to_the_horizon_or_now(now: int, read_end: int) -> None:
    window = AuditWindow(0, 60 * MIN, 10 * MIN, now)
    assert window.read_end_ms == read_end
    assert window.lookback_ms == -10 * MIN


@pytest.mark.parametrize(("ms", "inside"), [(-1, False), (0, True), (60 * MIN - 1, True), (60 * MIN, False)])
def test_the_range_is_half_open(ms: int, inside: bool) -> None:
    assert WINDOW.in_range(ms) is inside


@pytest.mark.parametrize(("start", "end", "horizon"), [(5, 5, 0), (5, 4, 0), (0, 5, -1)])
def test_a_window_that_cannot_be_is_refused(start: int, end: int, horizon: int) -> None:
    with pytest.raises(ValueError, match=r"range|horizon"):
        AuditWindow(start, end, horizon, 0)
