"""The vendors pms-relay speaks: one line per vendor folder, the only list of them.

The practice registry, the worker's adapters, the CLI's ``pms-relay sandbox <name>`` commands, the demo and
the adapter contract suite all read :data:`VENDORS`. Adding a PMS is a folder that exports its ``VENDOR``
(see :class:`adapters.vendor.Vendor`) and its line here; its kind travels as text in the event contract, so
no schema changes.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel

from adapters import dentrix, eaglesoft, opendental
from adapters.contract import PMSInterface
from adapters.errors import ConfigurationError
from adapters.vendor import Vendor

__all__ = ["VENDORS", "VendorName", "connection_model", "make_adapter", "vendor"]

VENDORS: tuple[Vendor[Any], ...] = (dentrix.VENDOR, eaglesoft.VENDOR, opendental.VENDOR)

_BY_KIND = {v.kind: v for v in VENDORS}


def vendor(kind: str) -> Vendor[Any]:
    """The vendor of ``kind`` (``"DENTRIX"``); :class:`ConfigurationError` for a kind no folder declares."""
    found = _BY_KIND.get(kind)
    if found is None:
        raise ConfigurationError(f"unknown PMS {kind}; known: {', '.join(_BY_KIND)}")
    return found


def _known_name(name: str) -> str:
    if name not in {v.name for v in VENDORS}:
        raise ValueError(f"unknown PMS {name!r}; known: {', '.join(v.name for v in VENDORS)}")
    return name


VendorName = Annotated[str, AfterValidator(_known_name)]
"""A vendor's :attr:`~adapters.vendor.Vendor.name` (``dentrix``), validated against :data:`VENDORS`."""


def connection_model(kind: str) -> type[BaseModel]:
    """The frozen settings model of ``kind``'s adapter."""
    return vendor(kind).config


def make_adapter(kind: str, connection: BaseModel) -> PMSInterface:
    """A new adapter of ``kind`` configured by ``connection`` (an instance of :func:`connection_model`)."""
    return vendor(kind).make_adapter(connection)
