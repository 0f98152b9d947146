"""What a vendor folder says about itself: one :class:`Vendor`, exported as ``VENDOR`` by its package.

Everything pms-relay does with a vendor goes through it: the practice registry validates ``pms:`` and the
``connection:`` settings against it, the worker makes adapters with it, ``pms-relay sandbox <name>`` runs
its sandbox command, and the adapter contract suite drives its sandbox through its harness. Nothing outside
the folder knows a vendor's field names; :data:`adapters.vendors.VENDORS` is the one list of folders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from adapters.contract import PMSInterface
from adapters.domain import PmsKind
from adapters.errors import ConfigurationError
from adapters.sandbox.harness import SandboxHarness

__all__ = ["Vendor"]

ConfigT = TypeVar("ConfigT", bound=BaseModel)


@dataclass(frozen=True)
class Vendor(Generic[ConfigT]):
    """``kind``: as the contract writes it (``"DENTRIX"``); ``config``: one practice's connection settings;
    ``adapter``: makes an adapter from them; ``sandbox``: the ``pms-relay sandbox <name>`` command (a function
    whose parameters are its options); ``harness``: the contract suite's way into the sandbox."""

    kind: PmsKind
    config: type[ConfigT]
    adapter: Callable[[ConfigT], PMSInterface]
    sandbox: Callable[..., None]
    harness: Callable[[], SandboxHarness]

    @property
    def name(self) -> str:
        """How people and files name it: ``pms: dentrix`` in a registry, ``pms-relay sandbox dentrix``."""
        return self.kind.lower()

    def make_adapter(self, connection: BaseModel) -> PMSInterface:
        """A new adapter configured by ``connection``, an instance of :attr:`config`."""
        if not isinstance(connection, self.config):
            raise ConfigurationError(
                f"no {self.name} adapter for settings of type {type(connection).__name__}"
            )
        return self.adapter(connection)
