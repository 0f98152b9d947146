"""The report's tables (pyarrow, one schema each) and its summary, built from what the replay found.

Every column is an id, a code, a count, an offset or an instant: no payload field and no free text from a
message (an error's ``message`` is never read; an undecodable input's ``reason`` is the audit's own words).

``duration_ms`` is the command's ``issued_at`` to its answer's ``completed_at`` / ``failed_at``: how long the
platform waited for its answer. ``attempts`` is the answer's own count (the dead letter's when only a dead
letter was found).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from streams.audit.classify import TERMINAL, Outcome, is_duplicate, outcome_of
from streams.audit.ledger import NONE, Answer, AnswerKind, Ledger, arrow_view
from streams.audit.replay import Findings
from streams.audit.window import AuditWindow

__all__ = ["EXCEPTION_LISTS", "Report", "build_report"]

_TS = pa.timestamp("us", tz="UTC")
_TEXT = pa.dictionary(pa.int32(), pa.string())  # texts that repeat: types, practices, codes, topics

COMMANDS = pa.schema(
    [
        ("command_id", pa.string()),
        ("command_type", _TEXT),
        ("practice_id", _TEXT),
        ("requested_by", _TEXT),
        ("issued_at", _TS),
        ("expires_at", _TS),
        ("source_topic", pa.dictionary(pa.int8(), pa.string())),
        ("source_partition", pa.int32()),
        ("source_offset", pa.int64()),
        ("outcome", pa.dictionary(pa.int8(), pa.string())),
        ("error_code", _TEXT),
        ("attempts", pa.int32()),
        ("pms", _TEXT),
        ("answered_at", _TS),
        ("duration_ms", pa.int64()),
        ("answer_ce_id", pa.string()),
        ("answer_topic", _TEXT),
        ("answer_partition", pa.int32()),
        ("answer_offset", pa.int64()),
        ("distinct_answers", pa.int32()),
        ("answer_messages", pa.int32()),
        ("dead_letter_partition", pa.int32()),
        ("dead_letter_offset", pa.int64()),
        ("redrives", pa.int32()),
        ("duplicate", pa.bool_()),
    ]
)
_LISTED = ["command_id", "command_type", "practice_id", "issued_at", "source_topic", "source_partition"]
_LISTED += ["source_offset"]

ANSWERS = pa.schema(
    [
        ("command_id", pa.string()),
        ("command_type", pa.string()),
        ("practice_id", pa.string()),
        ("kind", pa.string()),
        ("error_code", pa.string()),
        ("answered_at", _TS),
        ("ce_id", pa.string()),
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
    ]
)

UNDECODABLE = pa.schema(
    [
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
        ("timestamp", _TS),
        ("reason", pa.string()),
        ("command_id", pa.string()),
        ("answer_ce_id", pa.string()),
        ("dead_lettered", pa.bool_()),
    ]
)

_CHRONOLOGICAL = [
    ("issued_at", "ascending"),
    ("source_partition", "ascending"),
    ("source_offset", "ascending"),
]

EXCEPTION_LISTS = ("missing", "pending", "orphans", "duplicates", "undecodable")


@dataclass(frozen=True)
class Report:
    tables: dict[str, pa.Table]  # "commands" and each of EXCEPTION_LISTS
    summary: dict[str, Any]


def build_report(found: Findings, window: AuditWindow, commands_topic: str) -> Report:
    """The report's tables and summary. Consumes the ledger: once its rows are in the commands table it is
    cleared, so its memory (the largest part of the audit's) is free again before any file is written."""
    duplicates = duplicates_table(found.ledger)
    commands = commands_table(found.ledger, window, commands_topic)
    outcome = commands["outcome"]
    tables = {
        "commands": commands,
        "missing": commands.filter(pc.equal(outcome, Outcome.MISSING.value)).select(_LISTED),
        "pending": commands.filter(pc.equal(outcome, Outcome.PENDING.value)).select(_LISTED),
        "orphans": _answers_table(
            (o.command_id, o.command_type, o.practice_id, o.answer) for o in found.orphans
        ),
        "duplicates": duplicates,
        "undecodable": undecodable_table(found),
    }
    return Report(tables, summarize(tables, found))


def commands_table(ledger: Ledger, window: AuditWindow, topic: str) -> pa.Table:
    """One row per command, in chronological order; clears ``ledger``. Each column is built already in that
    order, texts are dictionary-encoded, and each of the ledger's columns is let go once used: a month of
    commands is millions, and the ledger and the table should not both be whole at once."""
    columns = ledger.columns()
    texts = pa.array(ledger.names.texts, pa.string())
    ledger.clear()
    order = pc.sort_indices(
        pa.table({k: arrow_view(columns[k]) for k in ("issued_at", "partition", "offset")}),
        sort_keys=[(k, "ascending") for k in ("issued_at", "partition", "offset")],
    )
    rows = len(order)
    kinds = arrow_view(columns["answer_kind"])
    answered_error, is_answer = pc.equal(kinds, AnswerKind.ERROR), pc.not_equal(kinds, AnswerKind.NONE)

    def ordered(array: pa.Array) -> pa.Array:
        return array.take(order)

    def number(name: str, kind: pa.DataType = pa.int64()) -> pa.Array:
        return _nullable(columns[name], kind)

    def text(indices: pa.Array) -> pa.Array:
        return ordered(pa.DictionaryArray.from_arrays(indices, texts))

    builders: dict[str, Callable[[], pa.Array]] = {
        "command_id": lambda: ordered(pa.array(columns["command_id"], pa.string())),
        "command_type": lambda: text(number("command_type", pa.int32())),
        "practice_id": lambda: text(number("practice_id", pa.int32())),
        "requested_by": lambda: text(number("requested_by", pa.int32())),
        "issued_at": lambda: ordered(number("issued_at").cast(_TS)),
        "expires_at": lambda: ordered(number("expires_at").cast(_TS)),
        "source_topic": lambda: ordered(_constant(topic, rows)),
        "source_partition": lambda: ordered(number("partition", pa.int32())),
        "source_offset": lambda: ordered(number("offset")),
        "outcome": lambda: ordered(_outcomes(columns, window)),
        "error_code": lambda: text(
            pc.if_else(
                answered_error, number("error_code", pa.int32()), number("dead_letter_code", pa.int32())
            )
        ),
        "attempts": lambda: ordered(
            pc.if_else(is_answer, number("attempts", pa.int32()), number("dead_letter_attempts", pa.int32()))
        ),
        "pms": lambda: text(number("pms", pa.int32())),
        "answered_at": lambda: ordered(number("answered_at").cast(_TS)),
        "duration_ms": lambda: ordered(
            pc.divide(pc.subtract(number("answered_at"), number("issued_at")), 1000)
        ),
        "answer_ce_id": lambda: ordered(columns["answer_ce_id"]),
        "answer_topic": lambda: text(number("answer_topic", pa.int32())),
        "answer_partition": lambda: ordered(number("answer_partition", pa.int32())),
        "answer_offset": lambda: ordered(number("answer_offset")),
        "distinct_answers": lambda: ordered(number("distinct_answers", pa.int32())),
        "answer_messages": lambda: ordered(number("answer_messages", pa.int32())),
        "dead_letter_partition": lambda: ordered(number("dead_letter_partition", pa.int32())),
        "dead_letter_offset": lambda: ordered(number("dead_letter_offset")),
        "redrives": lambda: ordered(number("redrives", pa.int32())),
        "duplicate": lambda: ordered(
            pa.array(
                [
                    is_duplicate(d, r)
                    for d, r in zip(columns["distinct_answers"], columns["redrives"], strict=True)
                ],
                pa.bool_(),
            )
        ),
    }
    arrays = {}
    for name, build in builders.items():
        arrays[name] = build()
        for used in _LAST_USE.get(name, ()):
            del columns[used]  # its last use: let it go
    return pa.Table.from_pydict(arrays, schema=COMMANDS)


# Which of the ledger's columns each output column is the last to read, in the order the builders run.
_LAST_USE = {
    "command_id": ("command_id",),
    "command_type": ("command_type",),
    "practice_id": ("practice_id",),
    "requested_by": ("requested_by",),
    "expires_at": ("expires_at",),
    "source_offset": ("offset",),
    "outcome": ("timestamp",),
    "error_code": ("error_code", "dead_letter_code"),
    "attempts": ("attempts", "dead_letter_attempts"),
    "pms": ("pms",),
    "duration_ms": ("answered_at", "issued_at"),
    "answer_ce_id": ("answer_ce_id",),
    "answer_topic": ("answer_topic",),
    "answer_offset": ("answer_offset",),
    "answer_messages": ("answer_messages",),
    "dead_letter_offset": ("dead_letter_offset",),
    "duplicate": ("distinct_answers", "redrives"),
}


def _outcomes(columns: dict[str, Any], window: AuditWindow) -> pa.Array:
    numbered = {outcome: i for i, outcome in enumerate(Outcome)}
    indices = [
        numbered[outcome_of(kind, partition != NONE, ms, window)]
        for kind, partition, ms in zip(
            columns["answer_kind"], columns["dead_letter_partition"], columns["timestamp"], strict=True
        )
    ]
    return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int8()), pa.array([o.value for o in Outcome]))


def _constant(text: str, rows: int) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int8()), pa.array([text]))


def duplicates_table(ledger: Ledger) -> pa.Table:
    """One row per distinct answer of each command that got more than it was sent for."""
    rows: list[tuple[str | None, str | None, str | None, Answer]] = []
    for command_id, displaced in ledger.displaced().items():
        entry = ledger.entry_of(command_id)
        if entry.answer is None or not is_duplicate(entry.distinct_answers, entry.redrives):
            continue
        answers = sorted([*displaced, entry.answer], key=_answer_order)
        rows += [(command_id, entry.command_type, entry.practice_id, answer) for answer in answers]
    return _answers_table(rows)


def undecodable_table(found: Findings) -> pa.Table:
    items = sorted(found.undecodable, key=lambda u: (u.topic, u.partition, u.offset))
    return _table(
        UNDECODABLE,
        items,
        {
            "topic": lambda u: u.topic,
            "partition": lambda u: u.partition,
            "offset": lambda u: u.offset,
            "timestamp": lambda u: u.timestamp_ms * 1000,
            "reason": lambda u: u.reason,
            "command_id": lambda u: u.command_id,
            "answer_ce_id": lambda u: u.answer_ce_id,
            "dead_lettered": lambda u: u.dead_lettered,
        },
    )


def summarize(tables: dict[str, pa.Table], found: Findings) -> dict[str, Any]:
    commands = tables["commands"]
    total = commands.num_rows
    by_outcome = _counts(commands, "outcome")
    answered = sum(n for outcome, n in by_outcome.items() if outcome in {o.value for o in TERMINAL})
    return {
        "commands": total,
        "completeness": {
            "answered": answered,
            "of": total,
            "ratio": round(answered / total, 6) if total else 1.0,
        },
        "by_outcome": {o.value: by_outcome.get(o.value, 0) for o in Outcome},
        "by_code": _counts(commands, "error_code"),
        "by_practice": _nested(commands, "practice_id"),
        "by_type": _nested(commands, "command_type"),
        "exceptions": {name: tables[name].num_rows for name in EXCEPTION_LISTS},
        "duplicate_commands": int(pc.sum(commands["duplicate"]).as_py() or 0),
        "notes": dict(sorted(found.counts.items())),
    }


def _answer_order(answer: Answer) -> tuple[int, str, int, int]:
    return (answer.answered_at_us, answer.topic, answer.partition, answer.offset)


def _answers_table(rows: Iterable[tuple[str | None, str | None, str | None, Answer]]) -> pa.Table:
    return _table(
        ANSWERS,
        sorted(rows, key=lambda row: _answer_order(row[3])),
        {
            "command_id": lambda r: r[0],
            "command_type": lambda r: r[1],
            "practice_id": lambda r: r[2],
            "kind": lambda r: r[3].kind.name,
            "error_code": lambda r: r[3].code,
            "answered_at": lambda r: r[3].answered_at_us,
            "ce_id": lambda r: r[3].ce_id,
            "topic": lambda r: r[3].topic,
            "partition": lambda r: r[3].partition,
            "offset": lambda r: r[3].offset,
        },
    )


def _table(schema: pa.Schema, items: Sequence[Any], getters: dict[str, Callable[[Any], Any]]) -> pa.Table:
    arrays = {}
    for item in schema:
        values = [getters[item.name](x) for x in items]
        kind = pa.int64() if item.type == _TS else item.type
        arrays[item.name] = pa.array(values, kind).cast(item.type)
    return pa.Table.from_pydict(arrays, schema=schema)


def _nullable(values: Any, kind: pa.DataType) -> pa.Array:
    column = arrow_view(values) if isinstance(values, array) else pa.array(values, pa.int64())
    return pc.if_else(pc.equal(column, NONE), pa.scalar(None, column.type), column).cast(kind)


def _counts(table: pa.Table, column: str) -> dict[str, int]:
    counted = table.group_by(column).aggregate([([], "count_all")]).to_pylist()
    return dict(sorted((row[column], row["count_all"]) for row in counted if row[column] is not None))


def _nested(table: pa.Table, column: str) -> dict[str, dict[str, int]]:
    counted = table.group_by([column, "outcome"]).aggregate([([], "count_all")]).to_pylist()
    nested: dict[str, dict[str, int]] = {}
    for row in sorted(counted, key=lambda r: (r[column] or "", r["outcome"])):
        nested.setdefault(row[column] or "", {})[row["outcome"]] = row["count_all"]
    return nested
