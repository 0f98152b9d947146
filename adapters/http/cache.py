"""A short-lived cache for a practice's *static* reference data: locations and operatories.

Patient data is never cached here (nor anywhere in the relay): it changes under us in the PMS, and holding it
in memory widens what a leak would expose. Reads of patients and appointments always go to the PMS.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from cachetools import TTLCache

__all__ = ["StaticCache"]

T = TypeVar("T")


class StaticCache:
    """Values by key for ``ttl_seconds``; concurrent misses on one key share a single load."""

    def __init__(
        self, ttl_seconds: float = 300.0, maxsize: int = 256, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._values: TTLCache[str, Any] = TTLCache(maxsize=maxsize, ttl=ttl_seconds, timer=clock)
        self._loading: dict[str, asyncio.Lock] = {}

    async def get_or_load(self, key: str, loader: Callable[[], Awaitable[T]]) -> T:
        """The cached value for ``key``, or ``await loader()`` stored under it. A failed load is not cached."""
        hit, value = self._lookup(key)
        if hit:
            return cast(T, value)
        lock = self._loading.setdefault(key, asyncio.Lock())
        async with lock:
            hit, value = self._lookup(key)  # loaded by the task that held the lock before us
            if hit:
                return cast(T, value)
            try:
                loaded = await loader()
            finally:
                # Waiters keep their reference to this lock; later callers find the value (or a fresh lock).
                if self._loading.get(key) is lock:
                    del self._loading[key]
            self._values[key] = loaded
            return loaded

    def invalidate(self, key: str | None = None) -> None:
        """Drop ``key``, or everything when ``key`` is None."""
        if key is None:
            self._values.clear()
        else:
            self._values.pop(key, None)

    def _lookup(self, key: str) -> tuple[bool, Any]:
        try:
            return True, self._values[key]
        except KeyError:
            return False, None
