"""The ``filter=`` grammar of the Ascend dialect: parse (pure), then compile against a resource's fields.

::

    filter  := clause ("," clause)*              every clause must hold
    clause  := field op value | field "->" "[" value ("," value)* "]"
    field   := name ("." name)*                  e.g. patient.id, lastModified
    op      := "==" | "!=" | ">=" | "<=" | "~="
    value   := characters up to the next unescaped ","; "\\," is a comma, "\\\\" a backslash
               (inside "[...]" an unescaped "]" also ends a value)

How a value compares depends on the field's kind: ids and references numerically, instants as instants
(a zone is required: ``Z`` or an offset), dates as ``YYYY-MM-DD``, booleans as ``true``/``false``, text
case-insensitively. ``~=`` is a case-insensitive *contains* (so it also covers prefixes) and exists only for
text and phone numbers. Phone numbers compare by digits only. A clause on a field the record lacks (null)
holds only for ``!=``. Errors name the field and the position, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "Clause",
    "FieldKind",
    "FilterError",
    "compile_filter",
    "parse_filter",
    "parse_instant",
]

OPERATORS = ("==", "!=", ">=", "<=", "~=", "->")
_HEAD = re.compile(r"([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)*)(==|!=|>=|<=|~=|->)")

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]


class FilterError(ValueError):
    """A filter that cannot be parsed or does not fit the resource; the message holds no values."""


class FieldKind(StrEnum):
    ID = "id"  # numeric id, or the id of a reference (``patient.id``)
    INT = "int"
    TEXT = "text"
    INSTANT = "instant"
    DATE = "date"
    BOOL = "bool"
    PHONES = "phones"  # ``phones.number``: any of the record's phone numbers


@dataclass(frozen=True)
class Clause:
    field: str
    op: str
    values: tuple[str, ...]  # one value, or the items of an ``->`` list


def parse_filter(text: str) -> list[Clause]:
    """Clauses of a filter string; raises :class:`FilterError` on bad syntax."""
    clauses: list[Clause] = []
    pos = 0
    while True:
        head = _HEAD.match(text, pos)
        if head is None:
            raise FilterError(f"invalid filter syntax at position {pos}: expected field and operator")
        field, op = head.group(1), head.group(2)
        if op == "->":
            values, pos = _read_list(text, head.end(), field)
        else:
            value, pos = _read_value(text, head.end(), stop=",")
            if not value:
                raise FilterError(f"invalid filter: empty value for field {field}")
            values = (value,)
        clauses.append(Clause(field, op, values))
        if pos == len(text):
            return clauses
        pos += 1  # the "," between clauses
        if pos == len(text):
            raise FilterError("invalid filter syntax: trailing comma")


def _read_value(text: str, pos: int, stop: str) -> tuple[str, int]:
    out: list[str] = []
    while pos < len(text) and text[pos] not in stop:
        if text[pos] == "\\":
            if pos + 1 == len(text):
                raise FilterError(f"invalid filter syntax at position {pos}: dangling escape")
            pos += 1
        out.append(text[pos])
        pos += 1
    return "".join(out), pos


def _read_list(text: str, pos: int, field: str) -> tuple[tuple[str, ...], int]:
    if pos >= len(text) or text[pos] != "[":
        raise FilterError(f"invalid filter: the list for field {field} must be written [a,b,...]")
    items: list[str] = []
    pos += 1
    while True:
        item, pos = _read_value(text, pos, stop=",]")
        if not item:
            raise FilterError(f"invalid filter: empty list item for field {field}")
        items.append(item)
        if pos >= len(text):
            raise FilterError(f"invalid filter: unclosed list for field {field}")
        if text[pos] == "]":
            pos += 1
            if pos < len(text) and text[pos] != ",":
                raise FilterError(f"invalid filter syntax at position {pos}: expected ',' after a list")
            return tuple(items), pos
        pos += 1


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant with ``Z`` or an offset, as aware UTC; naive or malformed text raises."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not an ISO-8601 date-time") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("date-time without a zone")
    return value.astimezone(UTC)


def compile_filter(clauses: Sequence[Clause], fields: Mapping[str, FieldKind]) -> Predicate:
    """One predicate that holds when every clause holds; raises :class:`FilterError` on a field the
    resource does not have, an operator the field's kind does not support, or a value of the wrong type."""
    tests = [_compile_clause(clause, fields) for clause in clauses]
    return lambda record: all(test(record) for test in tests)


def _compile_clause(clause: Clause, fields: Mapping[str, FieldKind]) -> Predicate:
    kind = fields.get(clause.field)
    if kind is None:
        raise FilterError(f"invalid filter: unknown field {clause.field}")
    if clause.op == "~=" and kind not in (FieldKind.TEXT, FieldKind.PHONES):
        raise FilterError(f"invalid filter: operator ~= is not supported for field {clause.field}")
    if clause.op in (">=", "<=") and kind in (FieldKind.BOOL, FieldKind.PHONES):
        raise FilterError(f"invalid filter: operator {clause.op} is not supported for field {clause.field}")
    try:
        wanted = [_coerce(kind, value) for value in clause.values]
    except ValueError:
        raise FilterError(f"invalid filter: bad value for field {clause.field} ({kind.value})") from None
    path = clause.field.split(".")
    if kind is FieldKind.PHONES:
        return _phones_test(clause.op, wanted)
    test = _TESTS[clause.op]

    def holds(record: Record) -> bool:
        actual = _lookup(record, path)
        if actual is None:
            return clause.op == "!="
        try:
            return test(_coerce_stored(kind, actual), wanted)
        except (ValueError, TypeError):
            return False

    return holds


def _lookup(record: Record, path: Sequence[str]) -> Any:
    value: Any = record
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _coerce(kind: FieldKind, text: str) -> Any:
    if kind in (FieldKind.ID, FieldKind.INT):
        return int(text)
    if kind is FieldKind.INSTANT:
        return parse_instant(text)
    if kind is FieldKind.DATE:
        return date.fromisoformat(text)
    if kind is FieldKind.BOOL:
        if text.lower() not in ("true", "false"):
            raise ValueError("not a boolean")
        return text.lower() == "true"
    if kind is FieldKind.PHONES:
        digits = _digits(text)
        if not digits:
            raise ValueError("no digits")
        return digits
    return text.casefold()


def _coerce_stored(kind: FieldKind, value: Any) -> Any:
    if kind is FieldKind.TEXT:
        return str(value).casefold()
    if kind is FieldKind.BOOL:
        return bool(value)
    return _coerce(kind, str(value))


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


_TESTS: dict[str, Callable[[Any, list[Any]], bool]] = {
    "==": lambda actual, wanted: actual == wanted[0],
    "!=": lambda actual, wanted: actual != wanted[0],
    ">=": lambda actual, wanted: actual >= wanted[0],
    "<=": lambda actual, wanted: actual <= wanted[0],
    "~=": lambda actual, wanted: wanted[0] in actual,
    "->": lambda actual, wanted: actual in wanted,
}


def _phones_test(op: str, wanted: list[str]) -> Predicate:
    def numbers(record: Record) -> list[str]:
        phones = record.get("phones") or []
        return [_digits(str(p.get("number", ""))) for p in phones if isinstance(p, Mapping)]

    if op == "==":
        return lambda record: wanted[0] in numbers(record)
    if op == "!=":
        return lambda record: wanted[0] not in numbers(record)
    if op == "~=":
        return lambda record: any(wanted[0] in n for n in numbers(record))
    return lambda record: any(n in wanted for n in numbers(record))
