"""FULL_TRANSITIVE compatibility between two versions of a schema, by Avro resolution rules and by trial.

``check_full(old, new)`` is BACKWARD (a new reader reads old data, :func:`check_backward`) plus FORWARD (an
old reader reads new data). It applies the resolution rules of the Avro specification, plus two stricter
policies and one declared exception:

* Enums: adding a symbol is compatible only if the enum has a ``default`` (old readers map the new symbol
  to it). Removing a symbol is never compatible, even with a default: history holds data with that symbol,
  and a new reader silently turning it into the default loses meaning.
* Logical types must not change (``timestamp-millis`` -> ``-micros`` is the same ``long`` on the wire but
  a thousandfold error in meaning).
* Open members: an enum, or a record field holding a union, marked ``"evolution": "open"`` in the reader's
  schema may gain symbols or branches. Avro resolves per datum, so a reader that lacks one fails exactly the
  messages that carry it and reads every other; ``open`` declares that failing those is right (a command
  type, and its payload, that an older relay could not perform anyway). Removing one is still breaking.

Then every direction is also tried empirically: synthetic records covering every union branch and enum
symbol are written with the writer schema and read back with the reader schema by fastavro (for open
members, every branch and symbol the reader knows).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fastavro import parse_schema, schemaless_reader, schemaless_writer

__all__ = ["OPEN", "Problem", "check_backward", "check_full", "reader_problems", "trial_problems"]

Direction = Literal["backward", "forward"]
_NAMED = ("record", "error", "enum", "fixed")
OPEN = "open"
"""The value of an ``"evolution"`` attribute that lets an enum or a union field grow (see above)."""
_PROMOTIONS = frozenset(
    {
        ("int", "long"),
        ("int", "float"),
        ("int", "double"),
        ("long", "float"),
        ("long", "double"),
        ("float", "double"),
        ("string", "bytes"),
        ("bytes", "string"),
    }
)


@dataclass(frozen=True)
class Problem:
    direction: Direction
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.direction}: {self.path}: {self.message}"


def check_full(old: Any, new: Any) -> list[Problem]:
    """Every reason why ``new`` is not fully compatible with ``old``; empty when it is."""
    return check_backward(old, new) + _problems("forward", writer=new, reader=old)


def check_backward(old: Any, new: Any) -> list[Problem]:
    """Every reason why a reader of ``new`` cannot read data written with ``old``; empty when it can."""
    return _problems("backward", writer=old, reader=new)


def _problems(direction: Direction, *, writer: Any, reader: Any) -> list[Problem]:
    found = reader_problems(writer, reader, removed_symbols_ok=direction == "forward")
    found = found or trial_problems(writer, reader)
    return [Problem(direction, path, message) for path, message in found]


def _parse(schema: Any) -> tuple[Any, dict[str, Any]]:
    named: dict[str, Any] = {}
    return parse_schema(schema, named_schemas=named), named


def reader_problems(writer: Any, reader: Any, *, removed_symbols_ok: bool) -> list[tuple[str, str]]:
    """(path, message) for each place where ``reader`` cannot resolve data written with ``writer``.

    ``removed_symbols_ok``: an enum symbol (or union branch) the reader lacks is tolerated if the reader has
    a default or marks it open (the FORWARD case, where the writer is newer); otherwise it is a problem.
    """
    w, w_named = _parse(writer)
    r, r_named = _parse(reader)
    resolver = _Resolver(w_named, r_named, removed_symbols_ok)
    resolver.check(w, r, _name_of(w) or "<root>")
    return resolver.problems


def _name_of(schema: Any) -> str | None:
    if isinstance(schema, dict) and schema.get("type") in _NAMED:
        return str(schema["name"]).rsplit(".", 1)[-1]
    return None


class _Resolver:
    def __init__(
        self, w_named: Mapping[str, Any], r_named: Mapping[str, Any], removed_symbols_ok: bool
    ) -> None:
        self.w_named, self.r_named = w_named, r_named
        self.removed_symbols_ok = removed_symbols_ok
        self.problems: list[tuple[str, str]] = []
        self._visited: set[tuple[str, str]] = set()

    def _w(self, schema: Any) -> Any:
        return self.w_named.get(schema, schema) if isinstance(schema, str) else schema

    def _r(self, schema: Any) -> Any:
        return self.r_named.get(schema, schema) if isinstance(schema, str) else schema

    def check(self, writer: Any, reader: Any, path: str, *, open_union: bool = False) -> None:
        w, r = self._w(writer), self._r(reader)
        if isinstance(w, list):
            for branch in w:
                if open_union and self.removed_symbols_ok and self._union_branch(self._w(branch), r) is None:
                    continue  # a branch the reader lacks: it fails only the messages that use it
                self.check(branch, r, f"{path}[{_label(self._w(branch))}]")
        elif isinstance(r, list):
            match = self._union_branch(w, r)
            if match is None:
                self.problems.append((path, f"no branch of the reader union accepts {_label(w)}"))
            else:
                self.check(w, match, path)
        else:
            self._check_single(w, r, path)

    def _union_branch(self, w: Any, branches: list[Any]) -> Any | None:
        resolved = [self._r(b) for b in branches]
        for branch in resolved:
            if _kind(branch) == _kind(w) and _full_name(branch) == _full_name(w):
                return branch
        for branch in resolved:
            if (_kind(w), _kind(branch)) in _PROMOTIONS:
                return branch
        return None

    def _check_single(self, w: Any, r: Any, path: str) -> None:
        wk, rk = _kind(w), _kind(r)
        if wk != rk and (wk, rk) not in _PROMOTIONS:
            self.problems.append((path, f"type changed from {wk} to {rk}"))
        elif _logical(w) != _logical(r):
            self.problems.append((path, f"logical type changed from {_logical(w)} to {_logical(r)}"))
        elif wk in _NAMED and not _same_name(w, r):
            self.problems.append((path, f"name changed from {w['name']} to {r['name']}"))
        elif wk in ("record", "error"):
            self._check_record(w, r, path)
        elif wk == "enum":
            self._check_enum(w, r, path)
        elif wk == "array":
            self.check(w["items"], r["items"], f"{path}[]")
        elif wk == "map":
            self.check(w["values"], r["values"], f"{path}{{}}")
        elif wk == "fixed" and w["size"] != r["size"]:
            self.problems.append((path, f"fixed size changed from {w['size']} to {r['size']}"))

    def _check_record(self, w: Any, r: Any, path: str) -> None:
        key = (str(w["name"]), str(r["name"]))
        if key in self._visited:  # recursive types: each pair of records is checked once
            return
        self._visited.add(key)
        written = {f["name"]: f for f in w["fields"]}
        for field in r["fields"]:
            names = [field["name"], *field.get("aliases", ())]
            source = next((written[n] for n in names if n in written), None)
            if source is not None:
                is_open = field.get("evolution") == OPEN and isinstance(self._r(field["type"]), list)
                self.check(source["type"], field["type"], f"{path}.{field['name']}", open_union=is_open)
            elif "default" not in field:
                self.problems.append(
                    (f"{path}.{field['name']}", "reader field has no writer field and no default")
                )
            elif not _default_fits(self._r(field["type"]), field["default"], self._r):
                self.problems.append((f"{path}.{field['name']}", "default does not match the field's type"))

    def _check_enum(self, w: Any, r: Any, path: str) -> None:
        missing = [s for s in w["symbols"] if s not in r["symbols"]]
        if not missing:
            return
        if not self.removed_symbols_ok:
            self.problems.append((path, f"enum symbols {missing} removed"))
        elif "default" not in r and r.get("evolution") != OPEN:
            self.problems.append(
                (path, f"enum symbols {missing} unknown to the reader, which has no default")
            )


def _kind(schema: Any) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        return str(schema["type"])
    return str(schema)


def _logical(schema: Any) -> str | None:
    return schema.get("logicalType") if isinstance(schema, dict) else None


def _full_name(schema: Any) -> str | None:
    return str(schema["name"]) if isinstance(schema, dict) and schema.get("type") in _NAMED else None


def _same_name(w: Any, r: Any) -> bool:
    return bool(w["name"] == r["name"] or w["name"] in r.get("aliases", ()))


def _label(schema: Any) -> str:
    return _full_name(schema) or _kind(schema)


def _default_fits(schema: Any, default: Any, resolve: Any) -> bool:
    schema = resolve(schema)
    kind = _kind(schema)
    if kind == "union":
        return _default_fits(schema[0], default, resolve)
    checks: dict[str, Any] = {
        "null": lambda: default is None,
        "boolean": lambda: isinstance(default, bool),
        "int": lambda: isinstance(default, int) and not isinstance(default, bool),
        "long": lambda: isinstance(default, int) and not isinstance(default, bool),
        "float": lambda: isinstance(default, int | float),
        "double": lambda: isinstance(default, int | float),
        "string": lambda: isinstance(default, str),
        "bytes": lambda: isinstance(default, str),
        "enum": lambda: default in schema["symbols"],
        "array": lambda: isinstance(default, list),
        "map": lambda: isinstance(default, dict),
        "record": lambda: isinstance(default, dict),
        "fixed": lambda: isinstance(default, str),
    }
    return bool(checks.get(kind, lambda: True)())


def trial_problems(writer: Any, reader: Any) -> list[tuple[str, str]]:
    """Write synthetic records with ``writer``, read them with ``reader``; one problem per failed record."""
    w, w_named = _parse(writer)
    r, r_named = _parse(reader)
    problems: list[tuple[str, str]] = []
    for k in range(_width(w, w_named, set())):
        buffer = io.BytesIO()
        try:
            schemaless_writer(buffer, w, _sample(w, w_named, k, r_named))
            buffer.seek(0)
            schemaless_reader(buffer, w, r)
        except Exception as exc:  # any failure to resolve is the finding itself
            problems.append((f"sample {k}", f"{type(exc).__name__}: {exc}"))
    return problems


def _width(schema: Any, named: Mapping[str, Any], seen: set[str]) -> int:
    """How many samples cover every union branch and every enum symbol at least once."""
    schema = _deref(schema, named)
    if isinstance(schema, list):
        return max([len(schema), *(_width(b, named, seen) for b in schema)])
    if not isinstance(schema, dict):
        return 1
    kind = schema["type"]
    if kind in _NAMED:
        if schema["name"] in seen:
            return 1
        seen.add(schema["name"])
    if kind in ("record", "error"):
        return max([1, *(_width(f["type"], named, seen) for f in schema["fields"])])
    if kind == "enum":
        return len(schema["symbols"])
    if kind in ("array", "map"):
        return _width(schema["items" if kind == "array" else "values"], named, seen)
    return 1


def _deref(schema: Any, named: Mapping[str, Any]) -> Any:
    return named.get(schema, schema) if isinstance(schema, str) else schema


def _sample(
    schema: Any, named: Mapping[str, Any], k: int, reader: Mapping[str, Any], only: set[str] | None = None
) -> Any:
    """Sample ``k`` of ``schema``; of an open member, only what the ``reader``'s named types know."""
    schema = _deref(schema, named)
    if isinstance(schema, list):
        options = [b for b in schema if only is None or _label(_deref(b, named)) in only]
        branch = _deref(options[k % len(options)], named)
        value = _sample(branch, named, k, reader)
        # The tuple notation names the branch, so empty or look-alike records are written unambiguously.
        return (branch["name"], value) if _kind(branch) in ("record", "error") else value
    kind = _kind(schema)
    logical = _logical(schema)
    if logical == "uuid":
        return str(uuid.UUID(int=k + 1))
    if kind in ("record", "error"):
        return {
            f["name"]: _sample(f["type"], named, k, reader, _open_branches(schema, f, reader))
            for f in schema["fields"]
        }
    primitives: dict[str, Any] = {
        "null": None,
        "boolean": k % 2 == 0,
        "int": k,
        "long": k,
        "float": k + 0.5,
        "double": k + 0.5,
        "bytes": b"b%d" % k,
        "string": f"s{k}",
    }
    if kind in primitives:
        return primitives[kind]
    if kind == "enum":
        symbols = _open_symbols(schema, reader)
        return symbols[k % len(symbols)]
    if kind == "array":
        return [_sample(schema["items"], named, k, reader)]
    if kind == "map":
        return {"key": _sample(schema["values"], named, k, reader)}
    if kind == "fixed":
        return bytes(schema["size"])
    raise ValueError(f"cannot sample Avro type {kind}")


def _open_symbols(enum: Any, reader: Mapping[str, Any]) -> list[str]:
    theirs = reader.get(enum["name"])
    if not isinstance(theirs, dict) or theirs.get("evolution") != OPEN:
        return list(enum["symbols"])
    return [s for s in enum["symbols"] if s in theirs["symbols"]] or list(enum["symbols"])


def _open_branches(record: Any, field: Any, reader: Mapping[str, Any]) -> set[str] | None:
    """The branches the reader's open union field knows; None when the field is not an open union."""
    theirs = reader.get(record["name"])
    fields = theirs.get("fields", ()) if isinstance(theirs, dict) else ()
    counterpart = next((f for f in fields if f["name"] == field["name"]), None)
    if (
        counterpart is None
        or counterpart.get("evolution") != OPEN
        or not isinstance(counterpart["type"], list)
    ):
        return None
    return {_label(_deref(branch, reader)) for branch in counterpart["type"]}
