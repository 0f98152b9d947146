"""The ledger: one row per command id, answers attached by id, replays told from distinct answers."""

from __future__ import annotations

from typing import Any

from streams.audit.ledger import Answer, AnswerKind, DeadLetterMark, Ledger

ID = "0b7f2c1e-7a51-4a43-9a3c-1f1e2d3c4b5a"


def _head(command_id: str = ID, **fields: Any) -> dict[str, Any]:
    return {
        "command_id": command_id,
        "command_type": "CreatePatient",
        "practice_id": "smile-nyc",
        "issued_at": 1_000_000,
        "expires_at": None,
        "requested_by": "agent-7",
        **fields,
    }


def _answer(ce_id: str, at_us: int, kind: AnswerKind = AnswerKind.RESULT, offset: int = 0) -> Answer:
    return Answer(
        kind, ce_id, "CONFLICT" if kind is AnswerKind.ERROR else None, 1, "DENTRIX", at_us, "r", 0, offset
    )


def test_a_command_is_kept_once_and_its_copies_counted() -> None:
    ledger = Ledger()
    assert ledger.add_command(_head(), 1, 0, 10)
    assert not ledger.add_command(_head(), 2, 0, 11)
    ledger.add_copy(ID, redrive=False)
    assert not ledger.add_command(_head(), 3, 0, 12)
    ledger.add_copy(ID, redrive=True)
    entry = ledger.entry_of(ID)
    assert (len(ledger), entry.offset, entry.copies, entry.redrives) == (1, 10, 2, 1)
    assert (entry.command_type, entry.practice_id, entry.requested_by, entry.expires_at_us) == (
        "CreatePatient", "smile-nyc", "agent-7", None
    )  # fmt: skip


def test_a_replay_is_one_answer_in_two_messages() -> None:
    ledger = Ledger()
    ledger.add_command(_head(), 1, 0, 10)
    first = _answer("ce-1", 5, offset=1)
    assert ledger.add_answer(ID, first)
    assert ledger.add_answer(ID, first._replace(offset=2, answered_at_us=9))
    entry = ledger.entry_of(ID)
    assert (entry.answer, entry.distinct_answers, entry.answer_messages, entry.others) == (first, 1, 2, ())


def test_distinct_answers_show_the_latest_and_keep_the_others() -> None:
    ledger = Ledger()
    ledger.add_command(_head(), 1, 0, 10)
    late, early = _answer("ce-2", 9, AnswerKind.ERROR), _answer("ce-1", 5)
    ledger.add_answer(ID, late)
    ledger.add_answer(ID, early)
    ledger.add_answer(ID, early)  # a replay of the displaced one is still a replay
    entry = ledger.entry_of(ID)
    assert (entry.answer, entry.others, entry.distinct_answers, entry.answer_messages) == (
        late,
        (early,),
        2,
        3,
    )
    assert ledger.displaced() == {ID: [early]}


def test_an_answer_or_dead_letter_for_an_unknown_command_is_refused() -> None:
    ledger = Ledger()
    assert not ledger.add_answer(ID, _answer("ce-1", 5))
    assert not ledger.add_dead_letter(ID, DeadLetterMark("UNAVAILABLE", 4, 0, 3))


def test_columns_have_a_row_per_command_with_none_for_no_value() -> None:
    ledger = Ledger()
    ledger.add_command(_head(), 1, 0, 10)
    ledger.add_command(_head("other", expires_at=7, requested_by=None), 2, 1, 20)
    ledger.add_dead_letter("other", DeadLetterMark("UNAVAILABLE", 4, 2, 3))
    columns = ledger.columns()
    assert list(columns["answer_kind"]) == [AnswerKind.NONE, AnswerKind.NONE]
    assert list(columns["expires_at"]) == [-1, 7]
    assert [ledger.names.text(n) for n in columns["requested_by"]] == ["agent-7", None]
    assert list(columns["dead_letter_partition"]) == [-1, 2]
    assert [ledger.names.text(n) for n in columns["dead_letter_code"]] == [None, "UNAVAILABLE"]
