"""The practice registry: validation errors name the practice and field; secrets never print."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from adapters.dentrix.config import DentrixConfig
from adapters.eaglesoft.config import EaglesoftConfig
from streams.registry import CircuitSettings, RegistryError, load_registry, parse_registry
from tests.unit.streams.fakes import DENTRIX, EAGLESOFT, ENVIRON, SECRET, registry_document


def parse(document: dict[str, Any], environ: dict[str, str] | None = None, base_dir: Path = Path(".")) -> Any:
    return parse_registry(document, environ=ENVIRON if environ is None else environ, base_dir=base_dir)


def document_with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """The test document with ``value`` set at ``path`` (a ``None`` value deletes the key)."""
    document = copy.deepcopy(registry_document())
    node = document
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if value is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return document


def error_of(document: dict[str, Any], **kwargs: Any) -> str:
    with pytest.raises(RegistryError) as caught:
        parse(document, **kwargs)
    return str(caught.value)


def test_a_valid_document_resolves_every_practice() -> None:
    registry = parse(registry_document())
    assert len(registry) == 2
    dentrix, eaglesoft = registry.get(DENTRIX), registry.get(EAGLESOFT)
    assert dentrix is not None
    assert eaglesoft is not None
    assert (dentrix.pms, eaglesoft.pms) == ("DENTRIX", "EAGLESOFT")
    assert isinstance(dentrix.connection, DentrixConfig)
    assert dentrix.connection.client_secret.get_secret_value() == SECRET
    assert isinstance(eaglesoft.connection, EaglesoftConfig)
    assert eaglesoft.connection.time_zone == "America/Chicago"  # inherited from the practice
    assert dentrix.circuit == CircuitSettings(fail_max=3, reset_timeout_seconds=30)
    assert eaglesoft.circuit == CircuitSettings()
    assert registry.get("nobody") is None


def test_load_registry_reads_yaml_from_a_file(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "practices.yaml"
    path.write_text(yaml.safe_dump(registry_document()), encoding="utf-8")
    assert len(load_registry(path, environ=ENVIRON)) == 2


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        pytest.param(("practices", DENTRIX, "colour"), "blue", f"practices.{DENTRIX}.colour", id="practice"),
        pytest.param(
            ("practices", DENTRIX, "connection", "api_version"),
            "v9",
            f"practices.{DENTRIX}.connection.api_version",
            id="connection",
        ),
        pytest.param(
            ("practices", EAGLESOFT, "circuit"),
            {"fail_max": 2, "half_open_calls": 1},
            f"practices.{EAGLESOFT}.circuit.half_open_calls",
            id="circuit",
        ),
        pytest.param(("defaults", "dentrix", "burst"), 3, "defaults.dentrix.burst", id="defaults"),
        pytest.param(("version",), 2, "version", id="top-level"),
    ],
)
def test_unknown_keys_are_errors_that_name_the_practice_and_field(
    path: tuple[str, ...], value: Any, named: str
) -> None:
    assert named in error_of(document_with(path, value))


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        pytest.param(("practices", DENTRIX, "time_zone"), "Mars/Olympus", "time_zone", id="time-zone"),
        pytest.param(("practices", DENTRIX, "pms"), "curve", "pms", id="pms"),
        pytest.param(("practices", DENTRIX, "max_concurrent"), 0, "max_concurrent", id="max-concurrent"),
        pytest.param(
            ("practices", DENTRIX, "connection", "organization_id"),
            "short",
            "connection.organization_id",
            id="vendor-field",
        ),
        pytest.param(
            ("practices", DENTRIX, "connection", "client_id"),
            None,
            "connection.client_id",
            id="missing-field",
        ),
    ],
)
def test_invalid_values_name_the_practice_and_field(path: tuple[str, ...], value: Any, named: str) -> None:
    message = error_of(document_with(path, value))
    assert f"practices.{DENTRIX}." in message
    assert named in message


def test_an_inline_secret_is_refused_without_echoing_it() -> None:
    message = error_of(document_with(("practices", DENTRIX, "connection", "client_secret"), "hunter2-inline"))
    assert f"practices.{DENTRIX}.connection.client_secret" in message
    assert "by reference" in message
    assert "hunter2-inline" not in message


def test_a_missing_environment_variable_is_named() -> None:
    message = error_of(registry_document(), environ={"GRIN_KEY": SECRET, "GRIN_PASSWORD": SECRET})
    assert "SMILE_SECRET" in message
    assert f"practices.{DENTRIX}.connection.client_secret" in message


def test_a_file_secret_is_read_relative_to_the_registry(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "smile").write_text("from-a-file\n", encoding="utf-8")
    document = document_with(("practices", DENTRIX, "connection", "client_secret"), {"file": "secrets/smile"})
    practice = parse(document, base_dir=tmp_path).get(DENTRIX)
    assert practice.connection.client_secret.get_secret_value() == "from-a-file"


def test_an_unreadable_secret_file_is_named(tmp_path: Path) -> None:
    document = document_with(("practices", DENTRIX, "connection", "client_secret"), {"file": "nope"})
    message = error_of(document, base_dir=tmp_path)
    assert "cannot read secret file" in message
    assert str(tmp_path / "nope") in message


@pytest.mark.parametrize(
    "reference", [{"env": "A", "file": "b"}, {"vault": "x"}, {}], ids=["both", "unknown-kind", "empty"]
)
def test_a_malformed_reference_is_an_error(reference: dict[str, str]) -> None:
    message = error_of(document_with(("practices", DENTRIX, "connection", "client_secret"), reference))
    assert f"practices.{DENTRIX}.connection.client_secret" in message


def test_a_non_secret_field_may_come_from_the_environment() -> None:
    document = document_with(("practices", DENTRIX, "connection", "client_id"), {"env": "SMILE_SECRET"})
    assert parse(document).get(DENTRIX).connection.client_id == SECRET


@pytest.mark.parametrize(
    ("practice", "defaults", "expected"),
    [
        pytest.param({}, {}, (10.0, 4), id="vendor-defaults"),
        pytest.param({}, {"rate_per_second": 3, "max_concurrent": 2}, (3.0, 2), id="file-defaults"),
        pytest.param(
            {"rate_per_second": 7, "max_concurrent": 1},
            {"rate_per_second": 3, "max_concurrent": 2},
            (7.0, 1),
            id="practice-wins",
        ),
        pytest.param({"max_concurrent": 6}, {"rate_per_second": 3}, (3.0, 6), id="mixed"),
    ],
)
def test_defaults_precedence(
    practice: dict[str, Any], defaults: dict[str, Any], expected: tuple[float, int]
) -> None:
    document = registry_document()
    document["practices"][DENTRIX].update(practice)
    document["defaults"]["dentrix"].update(defaults)
    resolved = parse(document).get(DENTRIX)
    assert (resolved.rate_per_second, resolved.max_concurrent) == expected
    assert (resolved.connection.rate_per_second, resolved.connection.max_concurrent) == expected


def test_circuit_settings_precedence() -> None:
    document = registry_document()
    document["practices"][DENTRIX]["circuit"] = {"fail_max": 9}
    registry = parse(document)
    assert registry.get(DENTRIX).circuit == CircuitSettings(fail_max=9)  # the practice's block, whole
    assert registry.get(EAGLESOFT).circuit == CircuitSettings()  # dentrix defaults do not leak across


def test_defaults_for_one_pms_do_not_apply_to_another() -> None:
    document = registry_document()
    document["defaults"]["dentrix"]["max_concurrent"] = 1
    assert parse(document).get(EAGLESOFT).max_concurrent == 4


@pytest.mark.parametrize("raw", [None, [], "practices: {}"], ids=["empty", "list", "string"])
def test_a_document_that_is_not_a_mapping_is_refused(raw: Any) -> None:
    with pytest.raises(RegistryError):
        parse_registry(raw, environ={}, base_dir=Path("."))


def test_secrets_never_print() -> None:
    registry = parse(registry_document())
    assert SECRET not in repr(registry)
    assert SECRET not in str(registry)
    assert all(SECRET not in repr(p) for p in registry.practices.values())
    bad = document_with(("practices", DENTRIX, "connection", "organization_id"), "zz")
    bad["practices"][DENTRIX]["connection"]["base_url"] = {"env": "SMILE_SECRET"}  # a secret that is invalid
    assert SECRET not in error_of(bad)


def test_a_mapping_valued_connection_field_is_not_taken_for_a_reference() -> None:
    zones = {"2": "America/Denver"}
    document = document_with(("practices", EAGLESOFT, "connection", "location_time_zones"), zones)
    assert parse(document).get(EAGLESOFT).connection.location_time_zones == zones
