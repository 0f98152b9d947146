"""Heads: ids and codes from an envelope's leading fields, for any writer schema, never its payload."""

from __future__ import annotations

import copy
import io
import uuid
from datetime import UTC, datetime

import pytest
from fastavro import parse_schema, schemaless_writer

from schemas import SchemaCatalog, default_catalog, load_current
from schemas.catalog import schema_fingerprint
from schemas.codec import Codec
from schemas.envelopes import ErrorEnvelope
from streams.audit.heads import COMMAND_HEAD, ERROR_HEAD, RESULT_HEAD, HeadError, HeadReader, truncated
from tests.commands import command

AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
AT_US = int(AT.timestamp() * 1_000_000)


def test_a_command_head_is_its_ids_and_times_as_numbers() -> None:
    envelope = command(
        "smile-nyc", "SearchPatients", {"query": {"last_name": "Quill"}}, issued_at=AT, requested_by="agent-7"
    )
    value = Codec().encode_command(envelope).value
    head = HeadReader(default_catalog(), "Command", COMMAND_HEAD).read(value)
    assert head == {
        "command_id": str(envelope.command_id),
        "command_type": "SearchPatients",
        "practice_id": "smile-nyc",
        "issued_at": AT_US,
        "expires_at": None,
        "requested_by": "agent-7",
    }


def test_an_error_head_skips_its_message() -> None:
    error = ErrorEnvelope(code="CONFLICT", retryable=False, message="Avery Quill", attempts=2, failed_at=AT)
    head = HeadReader(default_catalog(), "CommandError", ERROR_HEAD).read(Codec().encode_error(error).value)
    assert "message" not in head
    assert (head["code"], head["attempts"], head["failed_at"], head["command_id"]) == (
        "CONFLICT",
        2,
        AT_US,
        None,
    )


def test_the_payload_is_never_in_a_head() -> None:
    assert [
        f["name"] for f in truncated(default_catalog().current("Result").definition, RESULT_HEAD)["fields"]
    ] == [*RESULT_HEAD]


def test_an_older_writer_is_read_in_its_own_field_order() -> None:
    current = load_current()
    older = copy.deepcopy(current["Command"])
    fields = {f["name"]: f for f in older["fields"]}
    # a writer without requested_by, with practice_id first
    older["fields"] = [
        fields["practice_id"],
        *(f for f in older["fields"] if f["name"] not in ("practice_id", "requested_by")),
    ]
    registry = SchemaCatalog(current, {1: {"Command": older}})
    parsed = parse_schema(older, named_schemas={})
    body = io.BytesIO()
    record = {
        "practice_id": "lakeside", "command_id": str(uuid.uuid4()), "command_type": "ListLocations",
        "issued_at": AT, "expires_at": None, "payload": ("pms.relay.ListLocationsPayload", {}),
    }  # fmt: skip
    schemaless_writer(body, parsed, record)
    value = b"\xc3\x01" + schema_fingerprint(parsed) + body.getvalue()
    head = HeadReader(registry, "Command", COMMAND_HEAD).read(value)
    assert (head["practice_id"], head["command_type"], head.get("requested_by")) == (
        "lakeside",
        "ListLocations",
        None,
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty value"),
        (b"\xc3\x01\x00", "shorter than the single-object header"),
        (b"\x00\x01" + b"\x00" * 12, "not Avro single-object encoding"),
        (b"\xc3\x01" + b"\xff" * 8 + b"x", "unknown writer schema fingerprint ffffffffffffffff"),
    ],
)
def test_unreadable_values_say_why(value: bytes | None, reason: str) -> None:
    with pytest.raises(HeadError, match=reason):
        HeadReader(default_catalog(), "Command", COMMAND_HEAD).read(value)


def test_the_wrong_envelope_or_a_cut_body_is_refused() -> None:
    registry = default_catalog()
    error = ErrorEnvelope(code="CONFLICT", retryable=False, message="m", failed_at=AT)
    value = Codec().encode_error(error).value
    with pytest.raises(HeadError, match="expected a Command, got a CommandError"):
        HeadReader(registry, "Command", COMMAND_HEAD).read(value)
    with pytest.raises(HeadError, match="unreadable"):
        HeadReader(registry, "CommandError", ERROR_HEAD).read(value[:14])
