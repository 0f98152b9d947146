"""Classification: what a command's answers add up to, and where an answer without a command belongs.

Pure decisions over counts and instants, tested with tables (``tests/unit/streams/audit/test_classify.py``).

=============  ================================================================================================
MISSING        a command in the range with no answer, and its horizon has passed
PENDING        a command in the range with no answer yet, still inside its horizon
ORPHAN         an answer read inside the range whose command is neither in the range nor in the lookback
DUPLICATE      a command with more distinct answers (``ce_id``) than it was sent for: one, plus one per redrive
UNDECODABLE    input that is not a readable envelope, listed by topic, partition and offset
=============  ================================================================================================

A replayed answer (the same ``ce_id`` again, ``schemas/answers.py``) is the same event: never a DUPLICATE.
"""

from __future__ import annotations

from enum import StrEnum

from streams.audit.ledger import AnswerKind
from streams.audit.window import AuditWindow

__all__ = ["TERMINAL", "AnswerFate", "Outcome", "answer_fate", "is_duplicate", "outcome_of"]


class Outcome(StrEnum):
    """A command's outcome, as its row in the report says it."""

    RESULT = "RESULT"
    ERROR = "ERROR"
    DEAD_LETTER = "DEAD_LETTER"  # the retries were used up: a dead letter (and, normally, an error)
    PENDING = "PENDING"
    MISSING = "MISSING"


TERMINAL = frozenset({Outcome.RESULT, Outcome.ERROR, Outcome.DEAD_LETTER})


class AnswerFate(StrEnum):
    """Where an answer whose command is not in the ledger belongs."""

    EARLIER = "EARLIER"  # a late answer to a command of the lookback: the previous period's
    LATER = "LATER"  # read in the horizon, for a command after the range: the next period's
    ORPHAN = "ORPHAN"


def outcome_of(kind: int, dead_lettered: bool, command_ms: int, window: AuditWindow) -> Outcome:
    """The outcome of a command from its latest answer's kind (an :class:`AnswerKind`) and whether it was
    dead-lettered."""
    if kind == AnswerKind.RESULT:
        return Outcome.RESULT
    if dead_lettered:
        return Outcome.DEAD_LETTER
    if kind == AnswerKind.ERROR:
        return Outcome.ERROR
    return Outcome.PENDING if window.still_pending(command_ms) else Outcome.MISSING


def is_duplicate(distinct_answers: int, redrives: int) -> bool:
    """More distinct answers than sends: the first send and each redrive may have one answer each."""
    return distinct_answers > 1 + redrives


def answer_fate(answer_ms: int, earlier_command: bool, window: AuditWindow) -> AnswerFate:
    """Where an answer belongs whose command is not in the range."""
    if earlier_command:
        return AnswerFate.EARLIER
    if answer_ms >= window.end_ms:
        return AnswerFate.LATER
    return AnswerFate.ORPHAN
