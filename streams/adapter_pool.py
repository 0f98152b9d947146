"""The adapter pool: one adapter per practice, made on first use, closed at shutdown."""

from __future__ import annotations

from adapters.contract import PMSInterface
from adapters.vendors import make_adapter
from streams.registry import Practice

__all__ = ["AdapterPool"]


class AdapterPool:
    def __init__(self) -> None:
        self.adapters: dict[str, PMSInterface] = {}

    def __call__(self, practice: Practice) -> PMSInterface:
        adapter = self.adapters.get(practice.practice_id)
        if adapter is None:
            adapter = self.adapters[practice.practice_id] = make_adapter(practice.pms, practice.connection)
        return adapter

    async def close(self) -> None:
        for adapter in self.adapters.values():
            await adapter.close()
