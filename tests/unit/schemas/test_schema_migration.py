"""Contract v1 -> v2, reader by reader: what each one sees of the other's messages.

v2 writes a PMS kind as ``[PmsKind, string]`` (v1's kinds still as the enum, a later kind as text) and marks
``CommandType`` and the payload unions open. Commands did not change a byte.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError

from schemas import SchemaCatalog, default_catalog, load_current, load_history
from schemas.catalog import schema_fingerprint
from schemas.codec import Codec, DecodeError
from schemas.envelopes import CommandType, ResultEnvelope
from tests.fixtures.schemas.samples import ERRORS, command, result

HISTORY = load_history()
V1 = json.loads((Path(__file__).parents[2] / "fixtures" / "schemas" / "v1_messages.json").read_text())

CURRENT = Codec()
V1_ONLY = Codec(SchemaCatalog(HISTORY[1], {1: HISTORY[1]}))
"""A reader built before v2: the v1 schemas and nothing else."""

NEW_KIND = "OPEN_DENTAL"  # a PMS added after v1: no PmsKind symbol names it


def _new_vendor_result() -> ResultEnvelope:
    return result(CommandType.LIST_LOCATIONS).model_copy(update={"pms": NEW_KIND})


# ---- old messages stay readable ----------------------------------------------------------------------------


@pytest.mark.parametrize("command_type", list(CommandType))
def test_v1_messages_read_as_they_were_written(command_type: CommandType) -> None:
    assert CURRENT.decode_command(bytes.fromhex(V1["commands"][command_type.value])) == command(command_type)
    assert CURRENT.decode_result(bytes.fromhex(V1["results"][command_type.value])) == result(command_type)


@pytest.mark.parametrize("name", ["full", "rate_limited", "undecodable"])
def test_v1_errors_read_as_they_were_written(name: str) -> None:
    assert CURRENT.decode_error(bytes.fromhex(V1["errors"][name])) == ERRORS[name]


def test_commands_did_not_change_a_byte() -> None:
    sent = command(CommandType.CREATE_APPOINTMENT)
    assert CURRENT.encode_command(sent).value.hex() == V1["commands"][sent.command_type.value]
    assert V1_ONLY.decode_command(CURRENT.encode_command(sent).value) == sent


# ---- a PMS added later is a value, not a schema change ----------------------------------------------------


def test_a_pms_no_release_names_round_trips() -> None:
    sent = _new_vendor_result()
    assert CURRENT.decode_result(CURRENT.encode_result(sent).value) == sent
    error = ERRORS["full"].model_copy(update={"pms": NEW_KIND})
    assert CURRENT.decode_error(CURRENT.encode_error(error).value) == error


# ---- what a v1-only reader sees -------------------------------------------------------------------------


def test_a_v1_only_reader_rejects_every_v2_result_by_its_fingerprint() -> None:
    # With single-object framing a reader resolves only writer schemas it ships: any v2 Result or
    # CommandError, a new PMS or not, is an unknown fingerprint to it (a DecodeError, never a misread).
    for sent in (result(CommandType.LIST_LOCATIONS), _new_vendor_result()):
        with pytest.raises(DecodeError, match="unknown writer schema fingerprint"):
            V1_ONLY.decode_result(CURRENT.encode_result(sent).value)
    with pytest.raises(DecodeError, match="unknown writer schema fingerprint"):
        V1_ONLY.decode_error(CURRENT.encode_error(ERRORS["full"]).value)


def test_a_v1_reader_holding_the_v2_schema_fails_only_on_a_new_pms() -> None:
    # A reader that is handed the writer schema (a schema registry) resolves per message: v1's kinds are
    # still written as the enum it knows; a kind written as text is an error for it, on that message only.
    v2 = default_catalog().current("Result").parsed
    v1 = parse_schema(HISTORY[1]["Result"], named_schemas={})
    known = _body(CURRENT.encode_result(result(CommandType.LIST_LOCATIONS)).value)
    assert schemaless_reader(io.BytesIO(known), v2, v1, return_record_name=True)["pms"] == "EAGLESOFT"
    with pytest.raises(SchemaResolutionError):
        schemaless_reader(io.BytesIO(_body(CURRENT.encode_result(_new_vendor_result()).value)), v2, v1)


def _body(value: bytes) -> bytes:
    return value[10:]  # after the single-object header


# ---- the rollout: write the old release until every reader reads the new one ----------------------------


def test_writing_release_1_keeps_v1_only_readers_reading() -> None:
    pinned = Codec(write_release=1)
    sent = result(CommandType.VALIDATE_CONNECTION)
    message = pinned.encode_result(sent)
    assert message.value.hex() == V1["results"][sent.command_type.value]
    assert V1_ONLY.decode_result(message.value) == sent
    assert V1_ONLY.decode_error(pinned.encode_error(ERRORS["rate_limited"]).value) == ERRORS["rate_limited"]


def test_release_1_cannot_carry_a_pms_it_does_not_name() -> None:
    with pytest.raises(ValueError, match=r"Result cannot be written with pms\.relay\.Result v1"):
        Codec(write_release=1).encode_result(_new_vendor_result())


# ---- a command type added later ---------------------------------------------------------------------------


def _with_delete_patient(schema: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(schema)
    enum = changed["fields"][1]["type"]
    assert enum["name"] == "pms.relay.CommandType"
    enum["symbols"].append("DeletePatient")
    payload = next(f for f in changed["fields"] if f["name"] == "payload")
    payload["type"].append(
        {
            "type": "record",
            "name": "DeletePatientPayload",
            "fields": [{"name": "patient_id", "type": "string"}],
        }
    )
    return changed


def test_a_reader_of_today_fails_only_the_commands_it_does_not_know() -> None:
    """The registry of a relay that already ships a later release (one adding DeletePatient): every other
    command still reads, and the new one is a DecodeError that keeps its ids, so it is answered and
    dead-lettered (and redriven once the relay is upgraded)."""
    current = load_current()
    later = _with_delete_patient(current["Command"])
    reader = Codec(SchemaCatalog(current, {**HISTORY, 99: {**current, "Command": later}}))
    writer = parse_schema(later, named_schemas={})
    envelope = command(CommandType.LIST_LOCATIONS).model_dump(exclude={"payload"})
    known = {**envelope, "payload": ("pms.relay.ListLocationsPayload", {})}
    unknown = {
        **envelope,
        "command_type": "DeletePatient",
        "payload": ("pms.relay.DeletePatientPayload", {"patient_id": "P-1"}),
    }
    prefix = b"\xc3\x01" + schema_fingerprint(writer)

    assert reader.decode_command(prefix + _avro(writer, known)).command_type is CommandType.LIST_LOCATIONS
    with pytest.raises(DecodeError, match="unreadable") as info:
        reader.decode_command(prefix + _avro(writer, unknown), key=b"practice-42")
    assert info.value.practice_id == "practice-42"


def _avro(schema: Any, record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    schemaless_writer(buffer, schema, record)
    return buffer.getvalue()


# ---- enum defaults, for real ------------------------------------------------------------------------------


def test_an_enum_default_changes_no_fingerprint_and_the_reader_keeps_it() -> None:
    """fastavro resolves an unknown symbol to the reader's default, per message; the default is not part of
    the parsing canonical form, so a release that only adds one has the fingerprint of the release before.
    The registry must still read with the current definition, default included."""
    current = load_current()
    defaulted = copy.deepcopy(current["Result"])
    status = next(t for t in _named(defaulted) if t["name"].endswith("PatientStatus"))
    status["default"] = "ACTIVE"
    registry = SchemaCatalog({**current, "Result": defaulted}, HISTORY)
    assert registry.current("Result").fingerprint == default_catalog().current("Result").fingerprint
    reader = registry.current("Result").parsed
    assert next(t for t in _named(reader) if t["name"].endswith("PatientStatus"))["default"] == "ACTIVE"

    writer = copy.deepcopy(defaulted)
    next(t for t in _named(writer) if t["name"].endswith("PatientStatus"))["symbols"].append("ARCHIVED")
    record = result(CommandType.CREATE_PATIENT).model_dump(exclude={"payload"})
    patient = result(CommandType.CREATE_PATIENT).payload.model_dump() | {"status": "ARCHIVED"}
    record["payload"] = ("pms.relay.Patient", _lists(patient))
    parsed = parse_schema(writer, named_schemas={})
    read = schemaless_reader(io.BytesIO(_avro(parsed, record)), parsed, reader, return_record_name=True)
    assert read["payload"][1]["status"] == "ACTIVE"


def _named(schema: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(schema, list):
        for branch in schema:
            found += _named(branch)
    elif isinstance(schema, dict):
        if schema["type"] in ("record", "enum"):
            found.append(schema)
        for field in schema.get("fields", ()):
            found += _named(field["type"])
        found += _named(schema.get("items"))
    return found


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_lists(v) for v in value]
    return value


def test_there_is_no_release_to_pin_beyond_history() -> None:
    with pytest.raises(ValueError, match="no contract release v99"):
        Codec(write_release=99)
