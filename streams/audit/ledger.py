"""The ledger: per command id in the range, its command's ids and times and the answers it got.

A month of traffic is millions of commands, so the state per command is a few fixed-width columns (``array``)
and one dict entry, never an object per event and never a payload: texts that repeat (types, practices, actor
ids, PMS kinds, error codes) are kept once, in a :class:`Names` table, and referred to by number. A command
whose answers disagree (two distinct ``ce_id``) keeps the earlier ones aside in a small side table: those are
exceptions, rare by construction.

Which answer a row shows: the latest (by its completed_at / failed_at). A redriven command's later answer is
its final word; a command with distinct answers is a DUPLICATE whichever is shown.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["NONE", "Answer", "AnswerKind", "CommandEntry", "Ledger", "Names", "PackedIds", "arrow_view"]

NONE = -1  # no value, in every integer column


class AnswerKind(IntEnum):
    NONE = 0
    RESULT = 1
    ERROR = 2


class PackedIds:
    """One id per row, packed 36 bytes a row (a UUID's text) instead of a str object and a pointer (93
    bytes); an id of another length, which the contract does not make, is kept aside."""

    WIDTH = 36

    def __init__(self) -> None:
        self._packed = bytearray()
        self._odd: dict[int, str] = {}

    def grow(self, rows: int) -> None:
        self._packed.extend(bytes(self.WIDTH * rows))

    def set(self, row: int, text: str) -> None:
        encoded = text.encode()
        if len(encoded) == self.WIDTH:
            self._packed[row * self.WIDTH : (row + 1) * self.WIDTH] = encoded
            self._odd.pop(row, None)
        else:
            self._odd[row] = text

    def get(self, row: int) -> str:
        odd = self._odd.get(row)
        if odd is not None:
            return odd
        return self._packed[row * self.WIDTH : (row + 1) * self.WIDTH].decode()

    def arrow(self, present: pa.Array) -> pa.Array:
        """The ids as a string column, null where ``present`` is false."""
        rows = len(self._packed) // self.WIDTH
        packed = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(self.WIDTH), rows, [None, pa.py_buffer(self._packed)]
        )
        texts = (
            pc.if_else(present, packed, pa.scalar(None, pa.binary(self.WIDTH)))
            .cast(pa.binary())
            .cast(pa.string())
        )
        if not self._odd:
            return texts
        values = texts.to_pylist()
        for row, text in self._odd.items():
            values[row] = text
        return pa.array(values, pa.string())


def arrow_view(column: array[int]) -> pa.Array:
    """A zero-copy Arrow view of an integer column (which must not grow while the view lives)."""
    return pa.Array.from_buffers(_ARROW_TYPES[column.typecode], len(column), [None, pa.py_buffer(column)])


_ARROW_TYPES = {"b": pa.int8(), "i": pa.int32(), "q": pa.int64()}


class Names(dict[str | None, int]):
    """Each distinct text once, numbered in order of first sight: ``names[text]`` is its number (None is
    :data:`NONE`). A dict, so that a text seen before costs one lookup in C, the hot path."""

    def __init__(self) -> None:
        super().__init__({None: NONE})
        self.texts: list[str] = []

    def __missing__(self, text: str | None) -> int:
        assert text is not None
        number = self[text] = len(self.texts)
        self.texts.append(text)
        return number

    def number(self, text: str | None) -> int:
        return self[text]

    def text(self, number: int) -> str | None:
        return None if number == NONE else self.texts[number]


class Answer(NamedTuple):
    """One answer event: a result or an error, where it was read, and what it says (codes only). A tuple:
    one is made per answer read, the hot path."""

    kind: AnswerKind
    ce_id: str
    code: str | None
    attempts: int | None
    pms: str | None
    answered_at_us: int
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class CommandEntry:
    """One command of the ledger, read back for the report."""

    command_id: str
    command_type: str | None
    practice_id: str | None
    requested_by: str | None
    issued_at_us: int
    expires_at_us: int | None
    timestamp_ms: int
    partition: int
    offset: int
    copies: int
    redrives: int
    answer: Answer | None
    distinct_answers: int
    answer_messages: int
    others: tuple[Answer, ...]  # the displaced distinct answers, for the DUPLICATE list
    dead_letter: DeadLetterMark | None


class DeadLetterMark(NamedTuple):
    """A dead letter of the command: the journey headers' error code and attempts, and where it is."""

    code: str | None
    attempts: int | None
    partition: int
    offset: int


def _column(kind: str) -> array[int]:
    return array(kind)


class Ledger:
    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.names = Names()
        self._index: dict[str, int] = {}
        self._ids: list[str] = []
        # the command
        self._type, self._practice, self._actor = _column("i"), _column("i"), _column("i")
        self._issued, self._expires, self._timestamp = _column("q"), _column("q"), _column("q")
        self._partition, self._offset = _column("i"), _column("q")
        # its latest answer
        self._kind, self._code, self._attempts, self._pms = (
            _column("b"),
            _column("i"),
            _column("i"),
            _column("i"),
        )
        self._answered, self._answer_topic = _column("q"), _column("i")
        self._answer_partition, self._answer_offset = _column("i"), _column("q")
        self._ce_ids = PackedIds()
        self._distinct, self._messages = _column("i"), _column("i")
        # rare: kept aside, by row
        self._copies: dict[int, int] = {}  # sent again (beyond the first), not as a redrive
        self._redrives: dict[int, int] = {}
        self._dead_letters: dict[int, DeadLetterMark] = {}
        self._others: dict[int, list[Answer]] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def clear(self) -> None:
        """Forget every command (the report has taken them): their memory is free again."""
        self._reset()

    def __contains__(self, command_id: str) -> bool:
        return command_id in self._index

    def add_command(self, head: Mapping[str, Any], timestamp_ms: int, partition: int, offset: int) -> bool:
        """Record a command read from the range, from its head (:data:`~streams.audit.heads.COMMAND_HEAD`);
        False when its id is already in the ledger (then say why with :meth:`add_copy`)."""
        command_id = head["command_id"]
        index = self._index
        if command_id in index:
            return False
        names = self.names
        index[command_id] = len(self._ids)
        self._ids.append(command_id)
        self._type.append(names[head.get("command_type")])
        self._practice.append(names[head.get("practice_id")])
        self._actor.append(names[head.get("requested_by")])
        self._issued.append(head.get("issued_at") or 0)
        expires = head.get("expires_at")
        self._expires.append(NONE if expires is None else expires)
        self._timestamp.append(timestamp_ms)
        self._partition.append(partition)
        self._offset.append(offset)
        return True

    def add_copy(self, command_id: str, *, redrive: bool) -> None:
        """The command was read again: a redrive copy, or the same command sent twice."""
        i = self._index[command_id]
        counts = self._redrives if redrive else self._copies
        counts[i] = counts.get(i, 0) + 1

    def _fit(self) -> None:
        """Give the answer columns a row per command. Done in bulk once the commands are read (they are
        read first): appending to eleven columns per command was a third of the time spent on it."""
        missing = len(self._ids) - len(self._kind)
        for column in (self._kind, self._code, self._attempts, self._pms, self._answered, self._answer_topic):
            column.extend(
                array(column.typecode, [NONE if column is not self._kind else AnswerKind.NONE]) * missing
            )
        for column in (self._answer_partition, self._answer_offset):
            column.extend(array(column.typecode, [NONE]) * missing)
        for column in (self._distinct, self._messages):
            column.extend(array(column.typecode, [0]) * missing)
        self._ce_ids.grow(missing)

    def add_answer(self, command_id: str, answer: Answer) -> bool:
        """Attach an answer to its command; False when the command is not in the ledger."""
        i = self._index.get(command_id)
        if i is None:
            return False
        if len(self._kind) < len(self._ids):
            self._fit()
        self._messages[i] += 1
        current = self._ce_ids.get(i) if self._kind[i] != AnswerKind.NONE else None
        if current is None:
            self._set_answer(i, answer)
            self._distinct[i] = 1
            return True
        others = self._others.get(i, [])
        if answer.ce_id == current or any(answer.ce_id == other.ce_id for other in others):
            return True  # a replay: the same event again
        self._distinct[i] += 1
        shown = self._answer(i)
        assert shown is not None
        if answer.answered_at_us >= shown.answered_at_us:
            others.append(shown)
            self._set_answer(i, answer)
        else:
            others.append(answer)
        self._others[i] = others
        return True

    def add_dead_letter(self, command_id: str, mark: DeadLetterMark) -> bool:
        i = self._index.get(command_id)
        if i is None:
            return False
        self._dead_letters[i] = mark
        return True

    def locations(self) -> Iterator[tuple[str, int, int]]:
        """(command id, partition, offset) of every command, in the order read."""
        return zip(self._ids, self._partition, self._offset, strict=True)

    def columns(self) -> dict[str, Any]:
        """Every column, one value per command in the order read: numbers of :attr:`names` for texts,
        :data:`NONE` for no value. For the report's tables; read-only."""
        self._fit()
        return {
            "command_id": self._ids,
            "command_type": self._type,
            "practice_id": self._practice,
            "requested_by": self._actor,
            "issued_at": self._issued,
            "expires_at": self._expires,
            "timestamp": self._timestamp,
            "partition": self._partition,
            "offset": self._offset,
            "redrives": self._by_row(self._redrives, 0),
            "answer_kind": self._kind,
            "error_code": self._code,
            "attempts": self._attempts,
            "pms": self._pms,
            "answered_at": self._answered,
            "answer_topic": self._answer_topic,
            "answer_partition": self._answer_partition,
            "answer_offset": self._answer_offset,
            "answer_ce_id": self._ce_ids.arrow(pc.not_equal(arrow_view(self._kind), AnswerKind.NONE)),
            "distinct_answers": self._distinct,
            "answer_messages": self._messages,
            "dead_letter_code": self._dead_letter_column(lambda m: self.names.number(m.code)),
            "dead_letter_attempts": self._dead_letter_column(lambda m: m.attempts),
            "dead_letter_partition": self._dead_letter_column(lambda m: m.partition),
            "dead_letter_offset": self._dead_letter_column(lambda m: m.offset),
        }

    def _by_row(self, values: dict[int, int], default: int) -> array[int]:
        column = array("q", [default]) * len(self._ids)
        for i, value in values.items():
            column[i] = value
        return column

    def _dead_letter_column(self, value: Any) -> array[int]:
        column = array("q", [NONE]) * len(self._ids)
        for i, mark in self._dead_letters.items():
            found = value(mark)
            column[i] = NONE if found is None else found
        return column

    def displaced(self) -> dict[str, list[Answer]]:
        """The distinct answers not shown in a command's row, by command id (commands with more than one)."""
        return {self._ids[i]: list(answers) for i, answers in self._others.items()}

    def __iter__(self) -> Iterator[CommandEntry]:
        for i in range(len(self._ids)):
            yield self.entry(i)

    def entry_of(self, command_id: str) -> CommandEntry:
        return self.entry(self._index[command_id])

    def entry(self, i: int) -> CommandEntry:
        self._fit()
        text = self.names.text
        return CommandEntry(
            command_id=self._ids[i],
            command_type=text(self._type[i]),
            practice_id=text(self._practice[i]),
            requested_by=text(self._actor[i]),
            issued_at_us=self._issued[i],
            expires_at_us=_optional(self._expires[i]),
            timestamp_ms=self._timestamp[i],
            partition=self._partition[i],
            offset=self._offset[i],
            copies=1 + self._copies.get(i, 0),
            redrives=self._redrives.get(i, 0),
            answer=self._answer(i),
            distinct_answers=self._distinct[i],
            answer_messages=self._messages[i],
            others=tuple(self._others.get(i, ())),
            dead_letter=self._dead_letters.get(i),
        )

    def _set_answer(self, i: int, answer: Answer) -> None:
        names = self.names
        kind, ce_id, code, attempts, pms, answered_at_us, topic, partition, offset = answer
        self._ce_ids.set(i, ce_id)
        self._kind[i] = kind
        self._code[i] = names[code]
        self._attempts[i] = NONE if attempts is None else attempts
        self._pms[i] = names[pms]
        self._answered[i] = answered_at_us
        self._answer_topic[i] = names[topic]
        self._answer_partition[i] = partition
        self._answer_offset[i] = offset

    def _answer(self, i: int) -> Answer | None:
        if self._kind[i] == AnswerKind.NONE:
            return None
        ce_id = self._ce_ids.get(i)
        text = self.names.text
        return Answer(
            kind=AnswerKind(self._kind[i]),
            ce_id=ce_id,
            code=text(self._code[i]),
            attempts=_optional(self._attempts[i]),
            pms=text(self._pms[i]),
            answered_at_us=self._answered[i],
            topic=text(self._answer_topic[i]) or "",
            partition=self._answer_partition[i],
            offset=self._answer_offset[i],
        )


def _optional(value: int) -> int | None:
    return None if value == NONE else value
