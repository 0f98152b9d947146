"""Faust tables whose reads go straight to their store.

A read through ``faust.Table`` calls every sensor's ``on_table_get`` (faust's monitor and our Prometheus
sensor: a labelled counter under a lock) and, for a key that is not there, raises and catches a
``KeyError`` in ``__missing__``. The relay reads its tables several times a command (pybreaker asks the
circuit's state, counters and opened-at one read each; the inbox is asked for every command, which is
mostly not there), and in a burst's profile those reads were 6% of the worker's CPU. Writes and deletes
still go through the table, so every change reaches the changelog and the sensors as before; only
``faust_table_operations{operation="keys_retrieved"}`` no longer counts ``get``.
"""

from __future__ import annotations

from typing import Any

import faust

__all__ = ["StoreReadTable"]


class StoreReadTable(faust.Table[Any, Any]):
    def get(self, key: Any, default: Any = None) -> Any:
        # The store holds what the table holds (the same object a ``table[key]`` read returns); with
        # ``default=None`` the table has no default factory of its own to apply.
        return self.data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.data
