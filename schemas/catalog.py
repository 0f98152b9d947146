"""The event contract on disk: the current schemas, every released version, and the fingerprint catalog.

``schemas/pms/*.avsc`` hold the current schemas, written by hand with named types shared across files
(``domain.avsc`` defines the records the envelopes reference). ``schemas/history/v<N>/<Name>.avsc`` hold every
released writer schema in *standalone* form (each named type defined at its first use, referenced by full
name after), so a release never changes when ``domain.avsc`` does. The current schemas are release 1 as well.

A writer schema is identified on the wire by its CRC-64-AVRO fingerprint (of its parsing canonical form).
The catalog maps fingerprint -> writer schema for the current schemas and for every release, so a message
written by any released producer can still be read. The canonical form keeps only what shapes the bytes:
an enum ``default``, a ``doc`` or an ``evolution`` mark change no fingerprint, so a release that only adds
them is read and written exactly like the one before, and the current schema (with its defaults) stays the
reader schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, cast

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

__all__ = [
    "NAMESPACE",
    "RETIRED_READERS",
    "TOP_LEVEL",
    "SchemaCatalog",
    "WriterSchema",
    "default_catalog",
    "load_current",
    "load_history",
    "schema_fingerprint",
    "standalone",
]

NAMESPACE = "pms.relay"
ROOT = Path(__file__).parent
CURRENT_DIR = ROOT / "pms"
HISTORY_DIR = ROOT / "history"

# Files of the current contract, in definition order: later files reference types of earlier ones.
_CURRENT_FILES = ("domain.avsc", "command.avsc", "result.avsc", "error.avsc")
TOP_LEVEL = ("Command", "Result", "CommandError")
"""The envelopes that travel on topics: the only schemas with fingerprints on the wire."""

RETIRED_READERS = frozenset({1})
"""Releases whose readers are retired: every reader still reads their data (BACKWARD), but what is written
now need not be readable by them. v1's readers were retired by v2, which writes a PMS kind v1 cannot name
as text (README, "The event contract": the migration)."""

Schema = dict[str, Any]


@dataclass(frozen=True)
class WriterSchema:
    """One writer schema: its full name, release (None if not released yet), fingerprint and definition."""

    name: str
    version: int | None
    fingerprint: bytes
    definition: Schema = field(repr=False, compare=False)
    parsed: Schema = field(repr=False, compare=False)

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


def standalone(schema: Any, named: Mapping[str, Any], seen: set[str] | None = None) -> Any:
    """``schema`` with every named type it uses defined inline at first use and referenced by name after."""
    seen = set() if seen is None else seen
    if isinstance(schema, str):
        if schema in named and schema not in seen:
            return standalone(named[schema], named, seen)
        return schema
    if isinstance(schema, list):
        return [standalone(branch, named, seen) for branch in schema]
    out = {key: value for key, value in schema.items() if not key.startswith("__")}
    kind = out["type"]
    if kind in ("record", "error", "enum", "fixed"):
        if out["name"] in seen:
            return out["name"]
        seen.add(out["name"])
    if kind in ("record", "error"):
        out["fields"] = [{**f, "type": standalone(f["type"], named, seen)} for f in out["fields"]]
    elif kind == "array":
        out["items"] = standalone(out["items"], named, seen)
    elif kind == "map":
        out["values"] = standalone(out["values"], named, seen)
    return out


def schema_fingerprint(parsed: Any) -> bytes:
    """The 8-byte little-endian CRC-64-AVRO fingerprint, as single-object encoding puts it on the wire."""
    # fastavro renders the fingerprint as the hex of its little-endian bytes.
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))


def load_current(directory: Path = CURRENT_DIR) -> dict[str, Schema]:
    """The current top-level schemas in standalone form, keyed by short name (``Command``...)."""
    named: dict[str, Any] = {}
    for name in _CURRENT_FILES:
        parse_schema(json.loads((directory / name).read_text()), named_schemas=named)
    return {short: standalone(f"{NAMESPACE}.{short}", named) for short in TOP_LEVEL}


def load_history(directory: Path = HISTORY_DIR) -> dict[int, dict[str, Schema]]:
    """Every released version: ``{version: {short name: standalone schema}}``."""
    releases: dict[int, dict[str, Schema]] = {}
    for release in sorted(directory.glob("v*")):
        if release.is_dir() and release.name[1:].isdigit():
            releases[int(release.name[1:])] = {
                path.stem: json.loads(path.read_text()) for path in sorted(release.glob("*.avsc"))
            }
    return dict(sorted(releases.items()))


def _writer(definition: Schema, version: int | None) -> WriterSchema:
    parsed = cast(Schema, parse_schema(definition, named_schemas={}))
    return WriterSchema(str(parsed["name"]), version, schema_fingerprint(parsed), definition, parsed)


class SchemaCatalog:
    """Fingerprint -> writer schema for the current contract and every release; read-only once built."""

    def __init__(self, current: Mapping[str, Schema], history: Mapping[int, Mapping[str, Schema]]) -> None:
        self._by_fingerprint: dict[bytes, WriterSchema] = {}
        for version, schemas in history.items():
            for definition in schemas.values():
                writer = _writer(definition, version)
                self._by_fingerprint.setdefault(writer.fingerprint, writer)
        self._releases = {
            (version, short): self._by_fingerprint[_writer(definition, version).fingerprint]
            for version, schemas in history.items()
            for short, definition in schemas.items()
        }
        self._current: dict[str, WriterSchema] = {}
        for short, definition in current.items():
            writer = _writer(definition, None)
            released = self._by_fingerprint.get(writer.fingerprint)
            if released is not None:
                # Same bytes as a release; keep our own definition, whose defaults a reader resolves with.
                writer = _writer(definition, released.version)
            self._current[short] = writer
            self._by_fingerprint.setdefault(writer.fingerprint, writer)

    def current(self, short_name: str) -> WriterSchema:
        """The schema this code writes (and reads with) for ``Command``, ``Result`` or ``CommandError``."""
        return self._current[short_name]

    def release(self, version: int, short_name: str) -> WriterSchema:
        """The schema release ``version`` wrote for ``short_name``; KeyError when there is no such release."""
        return self._releases[(version, short_name)]

    def by_fingerprint(self, fp: bytes) -> WriterSchema | None:
        return self._by_fingerprint.get(fp)

    def __iter__(self) -> Iterator[WriterSchema]:
        return iter(self._by_fingerprint.values())


@cache
def default_catalog() -> SchemaCatalog:
    """The registry of the installed package's schemas, parsed once per process."""
    return SchemaCatalog(load_current(), load_history())
