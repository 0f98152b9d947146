"""Avro binary encoding straight from the envelope models, compiled once per writer schema.

fastavro's writer takes dicts, so each answer used to go model -> ``model_dump`` -> a copy with tuples made
lists -> fastavro, whose writer interprets the schema anew for every field (about 0.6 µs a field) and picks
each union branch by validating the value against the branches in turn (as much again for a nullable
field, a whole record's validation for an optional address). This module compiles a parsed writer schema
once into Python source, one function per record type, that reads the model's attributes directly and
tests each union's branches by kind, inline.

The bytes are fastavro's, value for value (``tests/unit/schemas/test_encoder.py`` compares them for every
envelope and payload type and every release's writer schema): zig-zag varints, length-prefixed UTF-8,
arrays as one block then 0, an enum as its symbol's index, fastavro's own logical-type conversions
(:data:`fastavro.write.LOGICAL_WRITERS`), and a union's branch chosen by fastavro's rule for the shapes our
schemas have: the first branch the value fits, and a record branch by the model's class name, like
fastavro's ``(name, record)`` tuple notation. A value the schema cannot carry raises :class:`ValueError`,
as fastavro does. Records are read from models (attributes), never dicts; only the Avro types the contract
uses compile, and :func:`compile_writer` raises :class:`UnsupportedSchema` for any other (the codec then
keeps fastavro).
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastavro.write import LOGICAL_WRITERS

__all__ = ["UnsupportedSchema", "compile_writer"]

Schema = Any  # a parsed fastavro schema: a name, a list (a union) or a dict

_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1
_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1


class UnsupportedSchema(ValueError):
    """The schema uses an Avro type this encoder does not compile (fastavro still writes it)."""


def _varint(value: int) -> bytes:
    """The zig-zag varint of a long, as Avro writes ``int`` and ``long``."""
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise OverflowError("integer out of the range of a long")  # as fastavro's C writer does
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Lengths and small longs, precomputed: most strings are short, most numbers small.
_LENGTHS = tuple(_varint(n) for n in range(4096))
_SMALL = {n: _varint(n) for n in range(-64, 64)}


def _long(value: Any) -> bytes:
    if type(value) is int and -64 <= value < 64:
        return _SMALL[value]
    return _varint(int(value))


def _length(size: int) -> bytes:
    return _LENGTHS[size] if size < 4096 else _varint(size)


def _no_branch(what: str) -> ValueError:
    return ValueError(f"value fits no branch of the union {what}")


def _not_symbol(enum: str) -> ValueError:
    return ValueError(f"value is not a symbol of {enum}")


def compile_writer(schema: Mapping[str, Any]) -> Callable[[Any], bytes]:
    """The encoder of ``schema`` (as :func:`fastavro.parse_schema` returns it): model -> Avro binary body."""
    compiler = _Compiler(dict(schema.get("__named_schemas", {})))
    top = compiler.record(schema)
    namespace = compiler.compile()
    encode = namespace[top]

    def write(value: Any) -> bytes:
        out = bytearray()
        encode(out, value)
        return bytes(out)

    return write


class _Compiler:
    """Writes one ``def`` per record type; statements encode the value in ``x{depth}`` onto ``out``."""

    def __init__(self, named: dict[str, Any]) -> None:
        self._named = named
        self._functions: dict[str, str] = {}  # record full name -> function name
        self._sources: list[str] = []
        self._constants: dict[str, Any] = {
            "_long": _long,
            "_length": _length,
            "_no_branch": _no_branch,
            "_not_symbol": _not_symbol,
            "_Sequence": Sequence,
        }

    def compile(self) -> dict[str, Any]:
        namespace = dict(self._constants)
        exec("\n\n".join(self._sources), namespace)  # source generated from the schema alone
        return namespace

    def _constant(self, prefix: str, value: Any) -> str:
        name = f"_{prefix}{len(self._constants)}"
        self._constants[name] = value
        return name

    def _resolved(self, schema: Schema) -> Schema:
        return self._named.get(schema, schema) if isinstance(schema, str) else schema

    # -- records ---------------------------------------------------------------------------------------

    def record(self, schema: Mapping[str, Any]) -> str:
        full_name = str(schema["name"])
        if full_name in self._functions:
            return self._functions[full_name]
        function = f"_record_{len(self._functions)}_{full_name.rsplit('.', 1)[-1]}"
        self._functions[full_name] = function  # before the fields: a record may hold itself
        lines = [f"def {function}(out, x0):"]
        for field in schema["fields"]:
            name = field["name"]
            read = (
                f"getattr(x0, {name!r})"
                if keyword.iskeyword(name) or not name.isidentifier()
                else f"x0.{name}"
            )
            lines.append(f"    x1 = {read}")
            lines.extend(self._statements(field["type"], 1, "    "))
        if len(lines) == 1:
            lines.append("    pass")
        self._sources.append("\n".join(lines))
        return function

    # -- statements, by type ---------------------------------------------------------------------------

    def _statements(self, schema: Schema, depth: int, indent: str) -> list[str]:
        """Statements that encode the value in ``x{depth}``."""
        x = f"x{depth}"
        resolved = self._resolved(schema)
        if isinstance(resolved, list):
            return self._union(resolved, depth, indent)
        if isinstance(resolved, str):
            return [indent + line for line in self._primitive(resolved, x)]
        kind = resolved["type"]
        if kind == "record":
            return [f"{indent}{self.record(resolved)}(out, {x})"]
        if kind == "enum":
            symbols = {s: _long(i) for i, s in enumerate(resolved["symbols"])}
            table = self._constant("enum", symbols)
            return [
                f"{indent}try:",
                f"{indent}    out += {table}[{x}]",
                f"{indent}except (KeyError, TypeError):",
                f"{indent}    raise _not_symbol({resolved['name']!r}) from None",
            ]
        if kind == "array":
            item = f"x{depth + 1}"
            return [
                f"{indent}if {x}:",
                f"{indent}    out += _long(len({x}))",
                f"{indent}    for {item} in {x}:",
                *self._statements(resolved["items"], depth + 1, indent + "        "),
                f"{indent}out += b'\\x00'",
            ]
        if "logicalType" in resolved:
            prepare = self._constant("prepare", self._prepare(resolved))
            schema_name = self._constant("schema", resolved)
            return [
                f"{indent}{x} = {prepare}({x}, {schema_name})",
                *(indent + line for line in self._primitive(kind, x)),
            ]
        return [indent + line for line in self._primitive(kind, x)]

    @staticmethod
    def _prepare(schema: Mapping[str, Any]) -> Callable[[Any, Any], Any]:
        key = f"{schema['type']}-{schema['logicalType']}"
        if key not in LOGICAL_WRITERS:
            raise UnsupportedSchema(f"logical type {key}")
        return LOGICAL_WRITERS[key]

    @staticmethod
    def _primitive(kind: str, x: str) -> list[str]:
        if kind == "string":
            return [f"{x} = {x}.encode()", f"out += _length(len({x}))", f"out += {x}"]
        if kind in ("int", "long"):
            return [f"out += _long({x})"]
        if kind == "boolean":
            return [f"out += b'\\x01' if {x} else b'\\x00'"]
        if kind == "null":
            return [f"if {x} is not None:", "    raise ValueError('a null holds a value')"]
        raise UnsupportedSchema(f"type {kind}")

    # -- unions ----------------------------------------------------------------------------------------

    def _union(self, branches: Sequence[Schema], depth: int, indent: str) -> list[str]:
        x = f"x{depth}"
        resolved = [self._resolved(b) for b in branches]
        lines: list[str] = []
        chain: list[tuple[str, int, list[str]]] = []  # (test, branch index, statements), in branch order
        # A model: its branch by class name, as fastavro's tuple notation names it.
        for index, branch in enumerate(resolved):
            if _is(branch, "record"):
                name = branch["name"].rsplit(".", 1)[-1]
                chain.append((f"type({x}).__name__ == {name!r}", index, self._statements(branch, depth, "")))
        for index, branch in enumerate(resolved):
            if _is(branch, "record"):
                continue
            if isinstance(branch, dict) and "logicalType" in branch:
                # fastavro validates a logical type's value converted, as it would write it.
                converted = f"{x}_{index}"
                prepare = self._constant("prepare", self._prepare(branch))
                lines.append(f"{indent}{converted} = {prepare}({x}, {self._constant('schema', branch)})")
                test = _plain_test(branch["type"], converted)
                chain.append((test, index, self._primitive(branch["type"], converted)))
            else:
                statements = [] if branch == "null" else self._statements(branch, depth, "")  # tested: None
                chain.append((self._fits(branch, x), index, statements))
        for position, (test, index, statements) in enumerate(chain):
            lines.append(f"{indent}{'if' if position == 0 else 'elif'} {test}:")
            lines.append(f"{indent}    out += {_long(index)!r}")
            lines.extend(f"{indent}    {line}" for line in statements)
        what = self._constant("union", str([self._label(b) for b in resolved]))
        lines += [f"{indent}else:", f"{indent}    raise _no_branch({what})"]
        return lines

    def _label(self, schema: Schema) -> str:
        if isinstance(schema, str):
            return schema
        return str(schema.get("name", schema["type"]))

    def _fits(self, schema: Schema, x: str) -> str:
        """The test that a plain value (no model) belongs to this branch, as fastavro validates it."""
        if isinstance(schema, str):
            return _plain_test(schema, x)
        kind = schema["type"]
        if kind == "enum":
            symbols = self._constant("symbols", frozenset(schema["symbols"]))
            return f"isinstance({x}, str) and {x} in {symbols}"
        if kind == "array":
            return f"isinstance({x}, _Sequence) and not isinstance({x}, str)"
        return _plain_test(kind, x)


def _is(schema: Schema, kind: str) -> bool:
    return isinstance(schema, dict) and schema["type"] == kind


def _plain_test(kind: str, x: str) -> str:
    tests = {
        "null": f"{x} is None",
        "boolean": f"isinstance({x}, bool)",
        "int": f"isinstance({x}, int) and not isinstance({x}, bool) and {_INT_MIN} <= {x} <= {_INT_MAX}",
        "long": f"isinstance({x}, int) and not isinstance({x}, bool) and {_LONG_MIN} <= {x} <= {_LONG_MAX}",
        "string": f"isinstance({x}, str)",
    }
    if kind not in tests:
        raise UnsupportedSchema(f"type {kind} in a union")
    return tests[kind]
