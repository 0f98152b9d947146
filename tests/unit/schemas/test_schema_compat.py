"""The contract's evolution rules: every release stays FULL_TRANSITIVE compatible (BACKWARD only with a
release whose readers are retired), and the schemas mirror the pydantic models they carry."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from adapters import domain
from adapters.errors import ErrorCode
from adapters.vendors import VENDORS
from schemas import check_full, envelopes, load_current, load_history
from schemas.catalog import RETIRED_READERS, TOP_LEVEL, schema_fingerprint
from schemas.compat import check_backward

CHANGES = json.loads((Path(__file__).parents[2] / "fixtures" / "schemas" / "changes.json").read_text())
CURRENT = load_current()
HISTORY = load_history()


def _named(schema: Any) -> Iterator[dict[str, Any]]:
    """Every named type defined in a standalone schema."""
    if isinstance(schema, list):
        for branch in schema:
            yield from _named(branch)
    elif isinstance(schema, dict):
        if schema["type"] in ("record", "enum", "fixed"):
            yield schema
        for field in schema.get("fields", ()):
            yield from _named(field["type"])
        yield from _named(schema.get("items"))
        yield from _named(schema.get("values"))


def _find(schema: Any, short_name: str) -> dict[str, Any]:
    return next(t for t in _named(schema) if t["name"].rsplit(".", 1)[-1] == short_name)


def _all_named() -> dict[str, dict[str, Any]]:
    return {t["name"].rsplit(".", 1)[-1]: t for s in CURRENT.values() for t in _named(s)}


@pytest.mark.parametrize("version", sorted(HISTORY))
@pytest.mark.parametrize("name", TOP_LEVEL)
def test_current_schema_is_fully_compatible_with_every_release(version: int, name: str) -> None:
    assert name in HISTORY[version], f"release v{version} lacks {name}"
    if version in RETIRED_READERS:
        # Its data stays readable; its readers are not promised what is written now.
        assert check_backward(HISTORY[version][name], CURRENT[name]) == []
    else:
        assert check_full(HISTORY[version][name], CURRENT[name]) == []


def test_only_the_migration_retires_readers() -> None:
    assert {1} == RETIRED_READERS
    assert check_full(HISTORY[1]["Command"], CURRENT["Command"]) == []  # commands never changed a byte
    assert any("pms" in p.path for p in check_full(HISTORY[1]["Result"], CURRENT["Result"]))


def test_current_schemas_are_released() -> None:
    # A writer schema that reaches a topic must be in history forever: run `python -m schemas.release`.
    assert HISTORY, "no release in schemas/history"
    assert HISTORY[max(HISTORY)] == CURRENT


@pytest.mark.parametrize("case", CHANGES, ids=[c["name"] for c in CHANGES])
def test_check_full_on_known_changes(case: dict[str, Any]) -> None:
    problems = [str(p) for p in check_full(case["old"], case["new"])]
    if case["compatible"]:
        assert problems == []
    else:
        assert any(case["expect"] in p for p in problems), problems


def _add_required_field(schema: dict[str, Any]) -> None:
    _find(schema, "Appointment")["fields"].append({"name": "room", "type": "string"})


def _remove_enum_symbol(schema: dict[str, Any]) -> None:
    _find(schema, "AppointmentStatus")["symbols"].remove("BROKEN")


def _change_field_type(schema: dict[str, Any]) -> None:
    _find(schema, "Appointment")["fields"][7]["type"] = "string"  # duration_minutes


def _add_command_type(schema: dict[str, Any]) -> None:
    _find(schema, "CommandType")["symbols"].append("DeletePatient")


def _add_command(schema: dict[str, Any]) -> None:
    """A whole new command: its CommandType symbol and its payload record."""
    _add_command_type(schema)
    payload = next(f for f in schema["fields"] if f["name"] == "payload")
    payload["type"].append(
        {
            "type": "record",
            "name": "DeletePatientPayload",
            "fields": [{"name": "patient_id", "type": "string"}],
        }
    )


def _remove_command_type(schema: dict[str, Any]) -> None:
    _find(schema, "CommandType")["symbols"].remove("ValidateConnection")


def _add_pms_kind_symbol(schema: dict[str, Any]) -> None:
    _find(schema, "PmsKind")["symbols"].append("OPEN_DENTAL")


@pytest.mark.parametrize(
    ("name", "mutate"),
    [
        ("Result", _add_required_field),
        ("Result", _remove_enum_symbol),
        ("Result", _change_field_type),
        ("Command", _remove_command_type),
        ("Result", _add_pms_kind_symbol),  # frozen: a new kind travels as text, needing no release
    ],
)
def test_incompatible_change_to_the_real_schema_fails(name: str, mutate: Any) -> None:
    changed = copy.deepcopy(CURRENT[name])
    mutate(changed)
    assert check_full(CURRENT[name], changed) != []


@pytest.mark.parametrize(("name", "mutate"), [("Command", _add_command_type), ("Command", _add_command)])
def test_a_new_command_type_is_a_compatible_change(name: str, mutate: Any) -> None:
    changed = copy.deepcopy(CURRENT[name])
    mutate(changed)
    assert check_full(CURRENT[name], changed) == []


def test_optional_field_added_to_the_real_schema_passes() -> None:
    changed = copy.deepcopy(CURRENT["Command"])
    _find(changed, "AppointmentCreateData")["fields"].append(
        {"name": "room", "type": ["null", "string"], "default": None}
    )
    assert check_full(CURRENT["Command"], changed) == []


def test_fingerprint_is_crc64_avro_little_endian() -> None:
    # The Avro specification's reference value for the schema "null": 0x63dd24e7cc258f8a.
    assert schema_fingerprint("null") == (0x63DD24E7CC258F8A).to_bytes(8, "little")


MIRRORED: list[type[BaseModel]] = [
    domain.Phone,
    domain.Address,
    domain.Patient,
    domain.Appointment,
    domain.Location,
    domain.Operatory,
    domain.ConnectionStatus,
    domain.DateRange,
    domain.PatientSearchQuery,
    domain.PatientCreateData,
    domain.PatientUpdateData,
    domain.AppointmentCreateData,
    domain.AppointmentUpdateData,
    *envelopes.PAYLOAD_TYPES.values(),
    envelopes.PatientList,
    envelopes.AppointmentList,
    envelopes.LocationList,
    envelopes.OperatoryList,
]


@pytest.mark.parametrize("model", MIRRORED, ids=lambda m: m.__name__)
def test_record_mirrors_model(model: type[BaseModel]) -> None:
    record = _all_named()[model.__name__]
    fields = {f["name"]: f for f in record["fields"]}
    assert list(fields) == list(model.model_fields)
    for name, info in model.model_fields.items():
        nullable = isinstance(fields[name]["type"], list) and "null" in fields[name]["type"]
        assert nullable == (info.default is None and not info.is_required()), name
        if not info.is_required():
            assert "default" in fields[name], f"{model.__name__}.{name} needs an Avro default"


@pytest.mark.parametrize(
    ("model", "record"),
    [
        (envelopes.CommandEnvelope, "Command"),
        (envelopes.ResultEnvelope, "Result"),
        (envelopes.ErrorEnvelope, "CommandError"),
    ],
)
def test_envelope_fields_mirror_records(model: type[BaseModel], record: str) -> None:
    assert [f["name"] for f in CURRENT[record]["fields"]] == list(model.model_fields)


@pytest.mark.parametrize(
    ("enum", "avro_name"),
    [
        (domain.Gender, "Gender"),
        (domain.PatientStatus, "PatientStatus"),
        (domain.PhoneType, "PhoneType"),
        (domain.AppointmentStatus, "AppointmentStatus"),
        (ErrorCode, "ErrorCode"),
        (envelopes.CommandType, "CommandType"),
    ],
)
def test_enum_symbols_mirror_python_enums(enum: Any, avro_name: str) -> None:
    assert _all_named()[avro_name]["symbols"] == [member.value for member in enum]


def test_pms_kind_is_v1s_and_every_pms_field_also_takes_text() -> None:
    assert _all_named()["PmsKind"]["symbols"] == _find(HISTORY[1]["Result"], "PmsKind")["symbols"]
    fields = [
        (record["name"], field["type"])
        for schema in CURRENT.values()
        for record in _named(schema)
        for field in record.get("fields", ())
        if field["name"] == "pms"
    ]
    assert {name.rsplit(".", 1)[-1] for name, _ in fields} == {"Result", "CommandError", "ConnectionStatus"}
    for _, kinds in fields:
        assert [k if isinstance(k, str) else k["name"] for k in kinds if k != "null"] in (
            ["pms.relay.PmsKind", "string"],
            ["PmsKind", "string"],
        )
    assert {vendor.kind for vendor in VENDORS} >= set(_all_named()["PmsKind"]["symbols"])


def test_every_optional_envelope_field_has_a_null_default() -> None:
    for schema in CURRENT.values():
        for record in _named(schema):
            for field in record.get("fields", ()):
                if isinstance(field["type"], list) and field["type"][0] == "null":
                    assert field.get("default", "missing") is None, f"{record['name']}.{field['name']}"
