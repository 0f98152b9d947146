"""The one codec: envelopes <-> Kafka messages (key, Avro value, CloudEvents headers).

Value = framing prefix + Avro binary body. The default framing is Avro *single-object encoding*
(``C3 01`` + the writer schema's 8-byte little-endian CRC-64-AVRO fingerprint); the writer schema is
looked up by fingerprint among the current and every released schema and resolved to the current reader
schema, so messages from older producers stay readable. A codec writes with the current schemas, or with
those of an earlier release (``write_release``) while a rollout still has readers of that release only
(README, "The event contract"). Another framing (Confluent Schema Registry's
``00`` + 4-byte id) plugs in through :class:`Framing` without touching stream code.

Anything that cannot become a valid envelope raises :class:`DecodeError`, which keeps the raw message for
dead-lettering and whatever ids could still be read, so the caller can still answer with an error event.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple, Protocol, cast

from fastavro import schemaless_reader, schemaless_writer
from pydantic import BaseModel, ValidationError

from adapters.errors import ValidationFailed
from schemas import NAMESPACE, SchemaCatalog, WriterSchema, default_catalog
from schemas import cloudevents as ce
from schemas.encoder import UnsupportedSchema, compile_writer
from schemas.envelopes import (
    PAYLOAD_TYPES,
    RESULT_PAYLOAD_TYPES,
    CommandEnvelope,
    CommandType,
    ErrorEnvelope,
    ResultEnvelope,
)

__all__ = [
    "Codec",
    "DecodeError",
    "EncodedMessage",
    "Framing",
    "FramingError",
    "RawMessage",
    "SingleObjectFraming",
    "decode_command",
    "decode_error",
    "decode_result",
    "default_codec",
    "encode_command",
    "encode_error",
    "encode_result",
]

_COMMAND, _RESULT, _ERROR = "Command", "Result", "CommandError"
_COMMAND_PAYLOADS = {f"{NAMESPACE}.{cls.__name__}": cls for cls in PAYLOAD_TYPES.values()}
_RESULT_PAYLOADS = {f"{NAMESPACE}.{cls.__name__}": cls for cls in set(RESULT_PAYLOAD_TYPES.values())}


class EncodedMessage(NamedTuple):
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass(frozen=True)
class RawMessage:
    """A message as it came off the topic, kept whole for the dead-letter topic."""

    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


class DecodeError(ValidationFailed):
    """The message is not a valid envelope. ``reason`` names what is wrong, never the data itself."""

    def __init__(
        self,
        reason: str,
        raw: RawMessage,
        *,
        command_id: uuid.UUID | None = None,
        command_type: CommandType | None = None,
        practice_id: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw
        self.command_id = command_id
        self.command_type = command_type
        self.practice_id = practice_id


class FramingError(ValueError):
    """The value's framing is unreadable; the message says why."""


class Framing(Protocol):
    """How a value names its writer schema: a prefix before the Avro body."""

    def prefix(self, writer: WriterSchema) -> bytes: ...

    def unframe(self, value: bytes) -> tuple[WriterSchema, int]:
        """The writer schema and the offset where the body starts; raises :class:`FramingError`."""
        ...


class SingleObjectFraming:
    """Avro single-object encoding: ``C3 01`` + 8-byte little-endian CRC-64-AVRO fingerprint."""

    MAGIC = b"\xc3\x01"
    HEADER_SIZE = 10

    def __init__(self, catalog: SchemaCatalog) -> None:
        self._catalog = catalog

    def prefix(self, writer: WriterSchema) -> bytes:
        return self.MAGIC + writer.fingerprint

    def unframe(self, value: bytes) -> tuple[WriterSchema, int]:
        if len(value) < self.HEADER_SIZE:
            raise FramingError(f"value of {len(value)} bytes is shorter than the single-object header")
        if value[:2] != self.MAGIC:
            raise FramingError(f"not Avro single-object encoding (magic {value[:2].hex()}, expected c301)")
        writer = self._catalog.by_fingerprint(value[2:10])
        if writer is None:
            raise FramingError(f"unknown writer schema fingerprint {value[2:10].hex()}")
        return writer, self.HEADER_SIZE


def describe_validation_error(exc: ValidationError, model: str) -> str:
    """Where and how validation failed, from ``loc`` and ``type`` only: pydantic's own messages may quote
    the input, which may be patient data."""
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'} ({e['type']})" for e in exc.errors()[:5]]
    more = f" and {exc.error_count() - 5} more" if exc.error_count() > 5 else ""
    return f"invalid {model}: {'; '.join(parts)}{more}"


def _as_uuid(text: Any) -> uuid.UUID | None:
    if isinstance(text, uuid.UUID):
        return text
    try:
        return uuid.UUID(str(text)) if text is not None else None
    except ValueError:
        return None


def _as_command_type(text: Any) -> CommandType | None:
    try:
        return CommandType(text) if text is not None else None
    except ValueError:
        return None


def _as_text(value: bytes | None) -> str | None:
    try:
        return value.decode() if value else None
    except UnicodeDecodeError:
        return None


class Codec:
    """Encodes and decodes the three envelopes. Stateless after construction; share one per process.

    ``write_release``: write with that release's schemas instead of the current ones, so that readers that
    know only that release keep reading; a value the release cannot carry is a :class:`ValueError`.
    Reading always resolves to the current schemas.
    """

    def __init__(
        self,
        catalog: SchemaCatalog | None = None,
        framing: Framing | None = None,
        *,
        source: str = ce.DEFAULT_SOURCE,
        write_release: int | None = None,
    ) -> None:
        self._catalog = catalog if catalog is not None else default_catalog()
        self._framing = framing if framing is not None else SingleObjectFraming(self._catalog)
        self._source = source
        names = (_COMMAND, _RESULT, _ERROR)
        self._current = {name: self._catalog.current(name) for name in names}
        self._writers = {name: self._writer(name, write_release) for name in names}
        self._prefix = {name: self._framing.prefix(writer) for name, writer in self._writers.items()}
        self._encoders = {name: _compiled(writer) for name, writer in self._writers.items()}

    def _writer(self, name: str, release: int | None) -> WriterSchema:
        if release is None:
            return self._current[name]
        try:
            return self._catalog.release(release, name)
        except KeyError:
            raise ValueError(f"no contract release v{release} of {name} to write with") from None

    # -- encoding ------------------------------------------------------------------------------------------

    def _body(self, name: str, envelope: BaseModel) -> bytes:
        writer, encode = self._writers[name], self._encoders[name]
        try:
            if encode is not None:
                return self._prefix[name] + encode(envelope)
            buffer = io.BytesIO()
            buffer.write(self._prefix[name])
            schemaless_writer(buffer, writer.parsed, _record(envelope))
            return buffer.getvalue()
        except ValueError as exc:  # a value the writer schema cannot name (a pinned release, an old enum)
            raise ValueError(f"{name} cannot be written with {writer.name} v{writer.version}") from exc

    def encode_command(
        self,
        command: CommandEnvelope,
        *,
        source: str | None = None,
        passthrough_headers: Iterable[tuple[str, bytes | None]] = (),
    ) -> EncodedMessage:
        headers = ce.build_headers(
            event_id=str(command.command_id),
            source=source or self._source,
            event_type=ce.command_event_type(command.command_type.value),
            time=command.issued_at,
            passthrough=passthrough_headers,
        )
        return EncodedMessage(command.practice_id.encode(), self._body(_COMMAND, command), headers)

    def encode_result(
        self,
        result: ResultEnvelope,
        *,
        passthrough_headers: Iterable[tuple[str, bytes | None]] = (),
        event_id: str | None = None,
    ) -> EncodedMessage:
        headers = ce.build_headers(
            event_id=event_id or str(uuid.uuid4()),
            source=self._source,
            event_type=ce.result_event_type(result.command_type.value),
            time=result.completed_at,
            correlation_id=str(result.command_id),
            passthrough=passthrough_headers,
        )
        return EncodedMessage(result.practice_id.encode(), self._body(_RESULT, result), headers)

    def encode_error(
        self,
        error: ErrorEnvelope,
        *,
        passthrough_headers: Iterable[tuple[str, bytes | None]] = (),
        event_id: str | None = None,
    ) -> EncodedMessage:
        headers = ce.build_headers(
            event_id=event_id or str(uuid.uuid4()),
            source=self._source,
            event_type=ce.ERROR_TYPE,
            time=error.failed_at,
            correlation_id=str(error.command_id) if error.command_id is not None else None,
            passthrough=passthrough_headers,
        )
        key = error.practice_id.encode() if error.practice_id is not None else None
        return EncodedMessage(key, self._body(_ERROR, error), headers)

    # -- decoding ------------------------------------------------------------------------------------------

    def decode_command(
        self, value: bytes | None, headers: ce.Headers | None = None, key: bytes | None = None
    ) -> CommandEnvelope:
        raw = RawMessage(key, value, tuple(headers or ()))
        record = self._read(_COMMAND, raw, "ce_id")
        payload_name, payload = record["payload"]
        payload_type = _COMMAND_PAYLOADS[payload_name]
        if payload_type.command_type.value != record["command_type"]:
            reason = f"command_type {record['command_type']} disagrees with payload {payload_name}"
            raise _undecodable(reason, raw, "ce_id", record)
        try:
            # command_type agrees with the record, so it types the payload dict exactly.
            return CommandEnvelope.model_validate({**record, "payload": payload})
        except ValidationError as exc:
            raise _undecodable(describe_validation_error(exc, _COMMAND), raw, "ce_id", record) from None

    def decode_result(
        self, value: bytes | None, headers: ce.Headers | None = None, key: bytes | None = None
    ) -> ResultEnvelope:
        raw = RawMessage(key, value, tuple(headers or ()))
        record = self._read(_RESULT, raw, "ce_correlationid")
        payload_name, payload = record["payload"]
        payload_type = _RESULT_PAYLOADS[payload_name]
        if payload_type is not RESULT_PAYLOAD_TYPES[CommandType(record["command_type"])]:
            reason = f"command_type {record['command_type']} disagrees with payload {payload_name}"
            raise _undecodable(reason, raw, "ce_correlationid", record)
        try:
            return ResultEnvelope.model_validate({**record, "payload": payload})
        except ValidationError as exc:
            reason = describe_validation_error(exc, _RESULT)
            raise _undecodable(reason, raw, "ce_correlationid", record) from None

    def decode_error(
        self, value: bytes | None, headers: ce.Headers | None = None, key: bytes | None = None
    ) -> ErrorEnvelope:
        raw = RawMessage(key, value, tuple(headers or ()))
        record = self._read(_ERROR, raw, "ce_correlationid")
        try:
            return ErrorEnvelope.model_validate(record)
        except ValidationError as exc:
            reason = describe_validation_error(exc, _ERROR)
            raise _undecodable(reason, raw, "ce_correlationid", record) from None

    def _read(self, name: str, raw: RawMessage, id_header: str) -> dict[str, Any]:
        """The Avro record in ``raw.value``, resolved to the current ``name`` schema (``id_header``: the
        header naming the command, for the error)."""
        if not raw.value:
            raise _undecodable("empty value", raw, id_header)
        content_type = ce.header(raw.headers, "content-type")
        if content_type is not None and content_type != ce.CONTENT_TYPE:
            raise _undecodable(f"content-type {content_type!r} is not {ce.CONTENT_TYPE}", raw, id_header)
        try:
            writer, offset = self._framing.unframe(raw.value)
        except FramingError as exc:
            raise _undecodable(str(exc), raw, id_header) from None
        reader = self._current[name]
        if writer.short_name != name:
            reason = f"expected a {name}, got a {writer.short_name} (v{writer.version})"
            raise _undecodable(reason, raw, id_header)
        buffer = io.BytesIO(raw.value)
        buffer.seek(offset)
        try:
            record = schemaless_reader(
                buffer,
                writer.parsed,
                # Same bytes (a fingerprint): skip resolution, the hot path.
                None if writer.fingerprint == reader.fingerprint else reader.parsed,
                return_record_name=True,
                return_record_name_override=True,
            )
        except Exception as exc:  # fastavro raises anything from EOFError to IndexError on bad bytes
            reason = f"Avro body unreadable with writer {writer.name} v{writer.version}: {type(exc).__name__}"
            raise _undecodable(reason, raw, id_header) from None
        if buffer.tell() != len(raw.value):
            reason = f"{len(raw.value) - buffer.tell()} trailing bytes after the Avro body"
            raise _undecodable(reason, raw, id_header)
        return cast(dict[str, Any], record)


def _compiled(writer: WriterSchema) -> Callable[[BaseModel], bytes] | None:
    """The writer schema's compiled encoder (:mod:`schemas.encoder`); None keeps fastavro's writer."""
    try:
        return compile_writer(writer.parsed)
    except UnsupportedSchema:
        return None


def _record(envelope: BaseModel) -> dict[str, Any]:
    """The envelope as fastavro writes it: a dict, the payload in tuple notation (its record's name)."""
    record = _lists(envelope.model_dump(exclude={"payload"}))
    payload = getattr(envelope, "payload", None)
    if payload is not None:
        record["payload"] = (_record_name(payload), _lists(payload.model_dump()))
    return cast(dict[str, Any], record)


def _lists(value: Any) -> Any:
    """Tuples become lists: fastavro reads a tuple in a union as ``(branch name, value)``."""
    if isinstance(value, dict):
        return {key: _lists(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_lists(item) for item in value]
    return value


def _record_name(model: BaseModel) -> str:
    return f"{NAMESPACE}.{type(model).__name__}"


def _undecodable(
    reason: str, raw: RawMessage, id_header: str, record: Mapping[str, Any] | None = None
) -> DecodeError:
    """The error for ``raw``, with whatever ids its headers and key (and its record, once read) tell: worked
    out only when decoding fails, so a good message pays nothing for them."""
    ids: dict[str, Any] = {
        "command_id": _as_uuid(ce.header(raw.headers, id_header)),
        "command_type": _as_command_type(ce.command_type_of(ce.header(raw.headers, "ce_type"))),
        "practice_id": _as_text(raw.key),
    }
    if record is not None:
        found = {
            "command_id": _as_uuid(record.get("command_id")),
            "command_type": _as_command_type(record.get("command_type")),
            "practice_id": record.get("practice_id") or None,
        }
        ids |= {name: value for name, value in found.items() if value is not None}
    return DecodeError(reason, raw, **ids)


@cache
def default_codec() -> Codec:
    """The codec over the installed schemas with single-object framing, built once per process."""
    return Codec()


def encode_command(
    command: CommandEnvelope, *, passthrough_headers: Iterable[tuple[str, bytes | None]] = ()
) -> EncodedMessage:
    return default_codec().encode_command(command, passthrough_headers=passthrough_headers)


def encode_result(
    result: ResultEnvelope, *, passthrough_headers: Iterable[tuple[str, bytes | None]] = ()
) -> EncodedMessage:
    return default_codec().encode_result(result, passthrough_headers=passthrough_headers)


def encode_error(
    error: ErrorEnvelope, *, passthrough_headers: Iterable[tuple[str, bytes | None]] = ()
) -> EncodedMessage:
    return default_codec().encode_error(error, passthrough_headers=passthrough_headers)


def decode_command(
    value: bytes | None, headers: ce.Headers | None = None, key: bytes | None = None
) -> CommandEnvelope:
    return default_codec().decode_command(value, headers, key)


def decode_result(
    value: bytes | None, headers: ce.Headers | None = None, key: bytes | None = None
) -> ResultEnvelope:
    return default_codec().decode_result(value, headers, key)


def decode_error(
    value: bytes | None, headers: ce.Headers | None = None, key: bytes | None = None
) -> ErrorEnvelope:
    return default_codec().decode_error(value, headers, key)
