"""The adapter pool: one adapter per practice, made on first use, closed at shutdown."""

from __future__ import annotations

from collections.abc import Callable

from adapters.contract import PMSInterface
from adapters.vendors import make_adapter
from streams.registry import Practice

__all__ = ["AdapterFactory", "AdapterPool", "vendor_adapter"]

AdapterFactory = Callable[[Practice], PMSInterface]
"""Makes a practice's adapter: its vendor's (:func:`vendor_adapter`) in production; an in-process fake to
measure the relay without a PMS (``deploy/bench/instant.py``)."""


def vendor_adapter(practice: Practice) -> PMSInterface:
    return make_adapter(practice.pms, practice.connection)


class AdapterPool:
    def __init__(self, factory: AdapterFactory = vendor_adapter) -> None:
        self.adapters: dict[str, PMSInterface] = {}
        self._factory = factory

    def __call__(self, practice: Practice) -> PMSInterface:
        adapter = self.adapters.get(practice.practice_id)
        if adapter is None:
            adapter = self.adapters[practice.practice_id] = self._factory(practice)
        return adapter

    async def close(self) -> None:
        for adapter in self.adapters.values():
            await adapter.close()
