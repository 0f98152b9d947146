"""The codec: every envelope variant round-trips; every bad message raises one typed, data-free error."""

from __future__ import annotations

import copy
import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastavro import schemaless_writer

from schemas import SchemaCatalog, WriterSchema, default_catalog, load_current, load_history
from schemas.codec import (
    Codec,
    DecodeError,
    FramingError,
    decode_command,
    decode_error,
    decode_result,
    encode_command,
    encode_error,
    encode_result,
)
from schemas.envelopes import CommandType, ErrorEnvelope
from tests.fixtures.schemas.samples import COMMAND_ID, ERRORS, PRACTICE, T0, command, result

TRACE = [
    ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    ("tracestate", b"vendor=opaque"),
]


def _headers(headers: list[tuple[str, bytes]]) -> dict[str, str]:
    return {name: value.decode() for name, value in headers}


# -- round trips --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command_type", list(CommandType))
def test_command_round_trip(command_type: CommandType) -> None:
    sent = command(command_type)
    message = encode_command(sent)
    assert decode_command(message.value, message.headers, message.key) == sent


@pytest.mark.parametrize("command_type", list(CommandType))
def test_result_round_trip(command_type: CommandType) -> None:
    sent = result(command_type)
    message = encode_result(sent)
    assert decode_result(message.value, message.headers, message.key) == sent


@pytest.mark.parametrize("name", list(ERRORS))
def test_error_round_trip(name: str) -> None:
    sent = ERRORS[name]
    message = encode_error(sent)
    assert decode_error(message.value, message.headers, message.key) == sent


def test_minimal_command_round_trip() -> None:
    sent = command(CommandType.LIST_LOCATIONS, expires_at=None, requested_by=None)
    assert decode_command(encode_command(sent).value) == sent


def test_value_is_single_object_encoded() -> None:
    value = encode_command(command(CommandType.LIST_LOCATIONS)).value
    assert value[:2] == b"\xc3\x01"
    assert value[2:10] == default_catalog().current("Command").fingerprint


# -- headers and keys ---------------------------------------------------------------------------------------


def test_command_headers() -> None:
    message = encode_command(command(CommandType.CREATE_APPOINTMENT), passthrough_headers=TRACE)
    assert message.key == PRACTICE.encode()
    assert _headers(message.headers) == {
        "ce_specversion": "1.0",
        "ce_id": str(COMMAND_ID),
        "ce_source": "/pms-relay",
        "ce_type": "pms.command.CreateAppointment.v1",
        "ce_time": "2025-03-04T15:30:00.123456Z",
        "content-type": "application/avro",
        "traceparent": TRACE[0][1].decode(),
        "tracestate": TRACE[1][1].decode(),
    }


def test_result_headers_correlate_to_the_command() -> None:
    message = encode_result(result(CommandType.LIST_OPERATORIES), passthrough_headers=TRACE)
    headers = _headers(message.headers)
    assert message.key == PRACTICE.encode()
    assert headers["ce_type"] == "pms.result.ListOperatories.v1"
    assert headers["ce_correlationid"] == headers["ce_causationid"] == str(COMMAND_ID)
    assert uuid.UUID(headers["ce_id"]) != COMMAND_ID
    assert headers["ce_time"] == "2025-03-04T15:30:02.123456Z"
    assert headers["traceparent"] == TRACE[0][1].decode()


def test_every_answer_gets_its_own_event_id() -> None:
    first, second = (encode_result(result(CommandType.LIST_LOCATIONS)) for _ in range(2))
    assert _headers(first.headers)["ce_id"] != _headers(second.headers)["ce_id"]


def test_error_headers_and_key() -> None:
    full = encode_error(ERRORS["full"])
    assert _headers(full.headers)["ce_type"] == "pms.error.v1"
    assert _headers(full.headers)["ce_correlationid"] == str(COMMAND_ID)
    anonymous = encode_error(ERRORS["undecodable"])
    assert anonymous.key is None
    assert "ce_correlationid" not in _headers(anonymous.headers)


def test_passthrough_cannot_override_our_attributes() -> None:
    incoming = [*TRACE, ("ce_id", b"spoofed"), ("content-type", b"text/plain"), ("baggage", b"k=v")]
    headers = encode_result(result(CommandType.LIST_LOCATIONS), passthrough_headers=incoming).headers
    names = [name for name, _ in headers]
    assert names.count("ce_id") == 1
    assert names.count("content-type") == 1
    assert ("ce_id", b"spoofed") not in headers
    assert ("baggage", b"k=v") in headers


def test_source_is_configurable() -> None:
    codec = Codec(source="/pms-relay/eu-1")
    assert _headers(codec.encode_error(ERRORS["full"]).headers)["ce_source"] == "/pms-relay/eu-1"


# -- undecodable and invalid input --------------------------------------------------------------------------


def _raw_command(mutate: Callable[[dict[str, Any]], None]) -> bytes:
    """A schema-valid Command body that pydantic never saw: written straight with fastavro."""
    sent = command(CommandType.CREATE_APPOINTMENT)
    record = sent.model_dump(exclude={"payload"})
    record["payload"] = ("pms.relay.CreateAppointmentPayload", sent.payload.model_dump())
    mutate(record)
    writer = default_catalog().current("Command")
    buffer = io.BytesIO()
    buffer.write(b"\xc3\x01" + writer.fingerprint)
    schemaless_writer(buffer, writer.parsed, record)
    return buffer.getvalue()


def _end_before_start(record: dict[str, Any]) -> None:
    appointment = record["payload"][1]["appointment"]
    appointment["end"] = appointment["start"].replace(year=2024)


def _mismatched_type(record: dict[str, Any]) -> None:
    record["command_type"] = "ListLocations"


VALID = encode_command(command(CommandType.CREATE_APPOINTMENT))
UNKNOWN_FINGERPRINT = b"\xc3\x01" + bytes(8) + VALID.value[10:]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(None, "empty value", id="none"),
        pytest.param(b"", "empty value", id="empty"),
        pytest.param(b"\xc3\x01\x00", "shorter than", id="short"),
        pytest.param(b"garbage bytes that are not avro", "not Avro single-object", id="garbage"),
        pytest.param(b"\x00" + VALID.value[1:], "not Avro single-object", id="wrong-magic"),
        pytest.param(UNKNOWN_FINGERPRINT, "unknown writer schema fingerprint", id="unknown-fingerprint"),
        pytest.param(VALID.value[:-5], "Avro body unreadable", id="truncated"),
        pytest.param(VALID.value[:10] + b"\xff" * 20, "Avro body unreadable", id="corrupt-body"),
        pytest.param(VALID.value + b"\x00", "1 trailing bytes", id="trailing"),
        pytest.param(
            encode_result(result(CommandType.LIST_LOCATIONS)).value, "expected a Command", id="a-result"
        ),
        pytest.param(
            _raw_command(_end_before_start), "payload.appointment (value_error)", id="end-before-start"
        ),
        pytest.param(_raw_command(_mismatched_type), "disagrees with payload", id="type-vs-payload"),
    ],
)
def test_bad_commands_raise_decode_error(value: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_command(value, VALID.headers, VALID.key)
    error = info.value
    assert reason in error.reason
    assert error.raw.value == value
    assert error.raw.key == VALID.key
    assert error.raw.headers == tuple(VALID.headers)
    # Ids survive from the headers and key (or the record) so the caller can still answer.
    assert (error.command_id, error.practice_id) == (COMMAND_ID, PRACTICE)
    assert error.command_type in (CommandType.CREATE_APPOINTMENT, CommandType.LIST_LOCATIONS)
    assert error.code == "VALIDATION"
    assert error.retryable is False


def test_decode_error_without_headers_has_no_ids() -> None:
    with pytest.raises(DecodeError) as info:
        decode_command(b"garbage bytes that are not avro")
    assert (info.value.command_id, info.value.command_type, info.value.practice_id) == (None, None, None)


def test_ids_come_from_the_record_when_only_validation_fails() -> None:
    with pytest.raises(DecodeError) as info:
        decode_command(_raw_command(_end_before_start))
    assert (info.value.command_id, info.value.practice_id) == (COMMAND_ID, PRACTICE)
    assert info.value.command_type is CommandType.CREATE_APPOINTMENT


def test_reason_carries_no_patient_data() -> None:
    def secret(record: dict[str, Any]) -> None:
        _end_before_start(record)
        record["payload"][1]["appointment"]["notes"] = "SECRET-NOTE"
        record["payload"][1]["appointment"]["patient_id"] = ""  # also let a field-level check fire

    with pytest.raises(DecodeError) as info:
        decode_command(_raw_command(secret))
    assert "SECRET" not in str(info.value)
    assert "SECRET" not in info.value.reason


def test_wrong_content_type_is_rejected() -> None:
    headers = [(k, v) for k, v in VALID.headers if k != "content-type"] + [
        ("content-type", b"application/json")
    ]
    with pytest.raises(DecodeError, match="content-type"):
        decode_command(VALID.value, headers, VALID.key)


def test_result_and_error_decoders_raise_decode_error() -> None:
    with pytest.raises(DecodeError, match="expected a Result"):
        decode_result(VALID.value)
    error_message = encode_error(ERRORS["full"])
    with pytest.raises(DecodeError, match="Avro body unreadable") as info:
        decode_error(error_message.value[:-3], error_message.headers, error_message.key)
    assert info.value.command_id == COMMAND_ID


# -- schema evolution ---------------------------------------------------------------------------------------


def _older_command_schema() -> dict[str, Any]:
    """What an earlier release could have looked like: no requested_by, no appointment notes."""
    old = copy.deepcopy(load_current()["Command"])
    old["fields"] = [f for f in old["fields"] if f["name"] != "requested_by"]
    payload = next(f for f in old["fields"] if f["name"] == "payload")
    create = next(b for b in payload["type"] if b["name"].endswith("CreateAppointmentPayload"))
    data = create["fields"][0]["type"]
    data["fields"] = [f for f in data["fields"] if f["name"] != "notes"]
    return old


def test_data_from_an_older_release_decodes_with_the_current_reader() -> None:
    history = {**load_history(), 0: {"Command": _older_command_schema()}}
    registry = SchemaCatalog(load_current(), history)
    old_writer = next(w for w in registry if w.version == 0)
    sent = command(CommandType.CREATE_APPOINTMENT, requested_by=None)
    appointment = sent.payload.model_dump()["appointment"]
    record = {**sent.model_dump(exclude={"payload", "requested_by"})}
    record["payload"] = ("pms.relay.CreateAppointmentPayload", {"appointment": appointment})
    buffer = io.BytesIO()
    buffer.write(b"\xc3\x01" + old_writer.fingerprint)
    schemaless_writer(buffer, old_writer.parsed, record)

    decoded = Codec(registry).decode_command(buffer.getvalue())

    expected_appointment = sent.payload.appointment.model_copy(update={"notes": None})  # type: ignore[union-attr]
    assert decoded.requested_by is None
    assert decoded.payload.appointment == expected_appointment  # type: ignore[union-attr]


@pytest.mark.parametrize("version", sorted(load_history()))
def test_every_released_writer_is_registered(version: int) -> None:
    # A release that changed no byte of a schema (only a doc, a default) shares the earlier release's entry.
    for name, definition in load_history()[version].items():
        fingerprint = default_catalog().release(version, name).fingerprint
        registered = default_catalog().by_fingerprint(fingerprint)
        assert registered is not None
        assert (registered.short_name, registered.definition["name"]) == (name, definition["name"])


class _IdFraming:
    """A Confluent-style framing (0x00 + 4-byte id) plugged in without touching the codec."""

    def __init__(self, registry: SchemaCatalog) -> None:
        self._ids = {i: writer for i, writer in enumerate(registry, start=1)}
        self._by_fp = {writer.fingerprint: i for i, writer in self._ids.items()}

    def prefix(self, writer: WriterSchema) -> bytes:
        return b"\x00" + self._by_fp[writer.fingerprint].to_bytes(4, "big")

    def unframe(self, value: bytes) -> tuple[WriterSchema, int]:
        if value[:1] != b"\x00" or int.from_bytes(value[1:5], "big") not in self._ids:
            raise FramingError("not Confluent framing")
        return self._ids[int.from_bytes(value[1:5], "big")], 5


def test_framing_is_pluggable() -> None:
    codec = Codec(framing=_IdFraming(default_catalog()))
    sent = ErrorEnvelope(code="TIMEOUT", retryable=True, message="timed out", failed_at=T0)
    message = codec.encode_error(sent)
    assert message.value[:1] == b"\x00"
    assert codec.decode_error(message.value) == sent
    with pytest.raises(DecodeError, match="not Confluent framing"):
        codec.decode_error(encode_error(sent).value)
