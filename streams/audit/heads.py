"""Heads: the leading fields of an envelope, read from its Avro body without reading its payload.

The report needs ids, times, codes and counts. Every envelope puts those before its payload (a command's
``expires_at`` and ``requested_by``, a result's ``pms``, ``attempts`` and ``duration_ms``), so a head reader
reads the writer schema's fields up to the last one it wants and stops there: the payload, the largest part
and the only one that can hold patient data, is never decoded. An error has no payload; its head is the
record up to ``failed_at``, with ``message`` read and dropped.

Each writer schema (found by fingerprint, as :mod:`streams.codec` does) gets its own truncated schema, so
messages from older producers are read with their own field order; a wanted field the writer lacks reads as
None. Logical types are dropped: ids stay strings and instants stay integer microseconds, which is what the
ledger keeps.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterable
from typing import Any, cast

from fastavro import parse_schema, schemaless_reader

from schemas import SchemaRegistry, WriterSchema
from streams.codec import FramingError, SingleObjectFraming

__all__ = ["COMMAND_HEAD", "ERROR_HEAD", "RESULT_HEAD", "HeadError", "HeadReader"]

COMMAND_HEAD = ("command_id", "command_type", "practice_id", "issued_at", "expires_at", "requested_by")
RESULT_HEAD = ("command_id", "command_type", "practice_id", "pms", "completed_at", "attempts", "duration_ms")
ERROR_HEAD = ("command_id", "command_type", "practice_id", "code", "pms", "attempts", "failed_at")


class HeadError(ValueError):
    """The value is not a readable envelope of the expected kind; the message names why, never the data."""


class HeadReader:
    """Reads the ``fields`` of one envelope (``Command``, ``Result`` or ``CommandError``) from a value."""

    def __init__(self, registry: SchemaRegistry, envelope: str, fields: Iterable[str]) -> None:
        self._framing = SingleObjectFraming(registry)
        self._envelope = envelope
        self._fields = tuple(fields)
        self._heads: dict[bytes, Any] = {}

    def read(self, value: bytes | None) -> dict[str, Any]:
        if not value:
            raise HeadError("empty value")
        try:
            writer, offset = self._framing.unframe(value)
        except FramingError as exc:
            raise HeadError(str(exc)) from None
        head = self._heads.get(writer.fingerprint)
        if head is None:
            head = self._heads[writer.fingerprint] = self._head_of(writer)
        buffer = io.BytesIO(value)
        buffer.seek(offset)
        try:
            record = cast(dict[str, Any], schemaless_reader(buffer, head, None))
        except Exception as exc:  # fastavro raises anything from EOFError to IndexError on bad bytes
            raise HeadError(f"Avro head unreadable with writer {writer.name}: {type(exc).__name__}") from None
        for name in self._fields:
            record.setdefault(name, None)
        return record

    def _head_of(self, writer: WriterSchema) -> Any:
        if writer.short_name != self._envelope:
            raise HeadError(f"expected a {self._envelope}, got a {writer.short_name} (v{writer.version})")
        return parse_schema(truncated(writer.definition, self._fields), named_schemas={})


def truncated(definition: dict[str, Any], wanted: Iterable[str]) -> dict[str, Any]:
    """``definition`` (a standalone record schema) with its fields cut after the last one in ``wanted``, and
    without logical types."""
    wanted = set(wanted)
    fields = definition["fields"]
    last = max((i for i, f in enumerate(fields) if f["name"] in wanted), default=-1)
    head = copy.deepcopy({**definition, "fields": fields[: last + 1]})
    _drop_logical_types(head)
    return head


def _drop_logical_types(schema: Any) -> None:
    if isinstance(schema, dict):
        schema.pop("logicalType", None)
        for value in schema.values():
            _drop_logical_types(value)
    elif isinstance(schema, list):
        for value in schema:
            _drop_logical_types(value)
