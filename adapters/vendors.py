"""The vendors pms-relay speaks: for each PMS kind, its connection settings and its adapter.

The one place outside the vendor folders that names them, so the stream layer can build an adapter for a
practice without knowing any vendor.
"""

from __future__ import annotations

from pydantic import BaseModel

from adapters.contract import PMSInterface
from adapters.dentrix.adapter import DentrixAdapter
from adapters.dentrix.config import DentrixConfig
from adapters.domain import PmsKind
from adapters.eaglesoft.adapter import EaglesoftAdapter
from adapters.eaglesoft.config import EaglesoftConfig
from adapters.errors import ConfigurationError

__all__ = ["connection_model", "make_adapter"]

_CONNECTIONS: dict[PmsKind, type[BaseModel]] = {
    PmsKind.DENTRIX: DentrixConfig,
    PmsKind.EAGLESOFT: EaglesoftConfig,
}


def connection_model(kind: PmsKind) -> type[BaseModel]:
    """The frozen settings model of ``kind``'s adapter."""
    return _CONNECTIONS[kind]


def make_adapter(kind: PmsKind, connection: BaseModel) -> PMSInterface:
    """A new adapter of ``kind`` configured by ``connection`` (an instance of :func:`connection_model`)."""
    if isinstance(connection, DentrixConfig) and kind is PmsKind.DENTRIX:
        return DentrixAdapter(connection)
    if isinstance(connection, EaglesoftConfig) and kind is PmsKind.EAGLESOFT:
        return EaglesoftAdapter(connection)
    raise ConfigurationError(f"no {kind} adapter for settings of type {type(connection).__name__}")
