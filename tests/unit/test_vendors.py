"""The one list of vendors: each folder describes itself, and everything that needs a vendor reads the list."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from adapters.errors import ConfigurationError
from adapters.http.adapter import HttpAdapter
from adapters.vendor import Vendor
from adapters.vendors import VENDORS, VendorName, connection_model, make_adapter, vendor
from cli.sandbox import app as sandbox_cli

BY_NAME = {v.name: v for v in VENDORS}


@pytest.mark.parametrize("described", VENDORS, ids=lambda v: v.name)
def test_each_vendor_folder_exports_its_own_description(described: Vendor[Any]) -> None:
    package = importlib.import_module(f"adapters.{described.name}")
    assert package.VENDOR is described
    assert described.kind == described.name.upper()
    assert described.kind == getattr(described.adapter, "kind", None)
    assert vendor(described.kind) is described
    assert connection_model(described.kind) is described.config


def test_kinds_and_names_are_unique() -> None:
    assert len({v.kind for v in VENDORS}) == len({v.name for v in VENDORS}) == len(VENDORS)


def test_an_unknown_kind_is_a_configuration_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"OPEN_DENTAL.*DENTRIX, EAGLESOFT"):
        vendor("OPEN_DENTAL")


class _Other(BaseModel):
    pass


@pytest.mark.parametrize("kind", [v.kind for v in VENDORS])
def test_an_adapter_is_only_made_from_its_own_settings(kind: str) -> None:
    with pytest.raises(ConfigurationError, match="_Other"):
        make_adapter(kind, _Other())


async def test_make_adapter_builds_the_vendors_adapter() -> None:
    dentrix = BY_NAME["dentrix"]
    settings = dentrix.config(
        base_url="https://pms.test",
        organization_id="0123456789abcdef01234567",
        client_id="c",
        client_secret="s",
    )
    adapter = make_adapter(dentrix.kind, settings)
    assert isinstance(adapter, HttpAdapter)
    assert adapter.kind == dentrix.kind
    await adapter.close()


def test_vendor_name_accepts_the_listed_names_only() -> None:
    names = TypeAdapter(VendorName)
    assert [names.validate_python(v.name) for v in VENDORS] == [v.name for v in VENDORS]
    for wrong in ("DENTRIX", "curve", ""):
        with pytest.raises(ValidationError, match="unknown PMS"):
            names.validate_python(wrong)


def test_the_sandbox_cli_has_one_command_per_vendor() -> None:
    commands = {command.name: command.callback for command in sandbox_cli.registered_commands}
    assert commands == {v.name: v.sandbox for v in VENDORS}
