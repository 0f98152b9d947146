"""What every HTTP adapter shares: one pooled client, and the static lists served from a cache."""

from __future__ import annotations

from abc import abstractmethod

from adapters.contract import PMSInterface
from adapters.domain import Location, Operatory
from adapters.http.cache import StaticCache
from adapters.http.client import PMSHttpClient

__all__ = ["HttpAdapter"]

LOCATIONS = "locations"
OPERATORIES = "operatories"


class HttpAdapter(PMSInterface):
    """A :class:`PMSInterface` over :class:`PMSHttpClient`; a vendor supplies the two static-list loaders.

    Locations and operatories change a few times a year, so they come from ``static`` until it expires or is
    invalidated; patient data is never cached.
    """

    def __init__(self, http: PMSHttpClient, static: StaticCache) -> None:
        self._http = http
        self._static = static

    async def close(self) -> None:
        await self._http.aclose()

    def invalidate_static_cache(self) -> None:
        self._static.invalidate()

    async def list_locations(self) -> list[Location]:
        return list(await self._static.get_or_load(LOCATIONS, self._load_locations))

    async def list_operatories(self, location_id: str | None = None) -> list[Operatory]:
        operatories = await self._static.get_or_load(OPERATORIES, self._load_operatories)
        return [op for op in operatories if location_id is None or op.location_id == location_id]

    @abstractmethod
    async def _load_locations(self) -> tuple[Location, ...]: ...

    @abstractmethod
    async def _load_operatories(self) -> tuple[Operatory, ...]: ...
