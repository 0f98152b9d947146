"""The skeleton every HTTP adapter shares: one pooled client built from the transport settings and the
vendor's :class:`~adapters.http.dialect.HttpDialect`, the static lists served from a cache, paging, and
the one way to read an answer (JSON, records, unreadable records) or to refuse a request before sending."""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any, ClassVar, TypeVar

import httpx
from pydantic import ValidationError

from adapters.contract import PMSInterface
from adapters.domain import Location, Operatory
from adapters.errors import PMSError, ValidationFailed
from adapters.http.auth import TokenCache
from adapters.http.cache import StaticCache
from adapters.http.client import PMSHttpClient, pool_limits
from adapters.http.dialect import HttpDialect
from adapters.http.paging import Cursor, MalformedPage
from adapters.http.ratelimit import PracticeRateLimiter
from adapters.http.retry import RetryPolicy
from adapters.http.settings import HttpSettings

__all__ = ["LOCATIONS", "OPERATORIES", "HttpAdapter"]

LOCATIONS = "locations"
OPERATORIES = "operatories"

T = TypeVar("T")
Json = dict[str, Any]


class HttpAdapter(PMSInterface):
    """A :class:`PMSInterface` over :class:`PMSHttpClient`. A vendor names its :attr:`dialect`, passes its
    settings, token cache and fixed headers, and supplies the two static-list loaders.

    Locations and operatories change a few times a year, so they come from the static cache until it
    expires or is invalidated; patient data is never cached. ``transport``, ``retry`` and ``sleep`` are the
    seams for tests.
    """

    dialect: ClassVar[HttpDialect]

    def __init__(
        self,
        settings: HttpSettings,
        *,
        tokens: TokenCache,
        headers: Mapping[str, str],
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = PMSHttpClient(
            base_url=settings.base_url,
            vendor=self.kind.lower(),
            path_prefix=self.dialect.path_prefix,
            error_mapper=self.dialect.errors,
            token_cache=tokens,
            auth_header=self.dialect.auth_header,
            default_headers={**headers, "Accept": "application/json"},
            limiter=PracticeRateLimiter(settings.rate_per_second, settings.max_concurrent),
            retry=retry or RetryPolicy(max_attempts=settings.max_attempts),
            timeout=httpx.Timeout(settings.read_timeout_seconds, connect=settings.connect_timeout_seconds),
            limits=pool_limits(settings.max_concurrent),
            transport=transport,
            sleep=sleep,
        )
        self._static = StaticCache(settings.static_cache_ttl_seconds)
        self._page_size = settings.page_size

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

    # ---- reading answers ---------------------------------------------------------------------------------

    async def _rows(
        self,
        route: str,
        params: Mapping[str, Any] | None = None,
        *,
        path_params: Mapping[str, str] | None = None,
    ) -> AsyncGenerator[Json, None]:
        """Every record of a filtered list, page after page, as the dialect pages."""
        cursor: Cursor | None = self.dialect.paging.start(self._page_size)
        while cursor is not None:
            query = {**(params or {}), **cursor.params}
            response = await self._http.request("GET", route, path_params=path_params, params=query)
            try:
                rows, cursor = cursor.read(self._json(response, route))
            except MalformedPage as exc:
                raise PMSError(f"{self.dialect.label} {route}: {exc}") from None
            for row in rows:
                yield row

    async def _list_all(
        self,
        route: str,
        params: Mapping[str, Any] | None = None,
        *,
        path_params: Mapping[str, str] | None = None,
    ) -> list[Json]:
        return [row async for row in self._rows(route, params, path_params=path_params)]

    async def _get_one(self, route: str, record_id: str) -> Json:
        """One record by id; ``route`` takes the id as ``{id}``."""
        response = await self._http.request("GET", route, path_params={"id": record_id})
        return self._object(response, route)

    def _json(self, response: httpx.Response, route: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise PMSError(f"{self.dialect.label} {route}: answer is not JSON") from None

    def _object(self, response: httpx.Response, route: str) -> Json:
        body = self._json(response, route)
        key = self.dialect.record_key
        if key is not None and isinstance(body, dict) and isinstance(body.get(key), dict):
            body = body[key]
        if not isinstance(body, dict):
            raise PMSError(f"{self.dialect.label} {route}: answer is not a JSON object")
        return body

    def _decode(self, read: Callable[[Json], T], row: Mapping[str, Any], what: str) -> T:
        """``read(row)``; a record that does not map is a PMS data error that names fields, never values."""
        try:
            return read(dict(row))
        except (ValueError, KeyError, TypeError) as exc:
            raise self._unreadable(what, row, exc) from None

    def _unreadable(self, what: str, row: Mapping[str, Any], exc: Exception) -> PMSError:
        record_id = next((row[key] for key in self.dialect.id_keys if key in row), None)
        if isinstance(exc, ValidationError):
            reason = f": invalid {_fields(exc)}"
        elif isinstance(exc, KeyError):
            reason = f": missing {exc.args[0]}"
        else:
            # The cause's text can quote the offending value, which may be patient data.
            reason = f" ({type(exc).__name__})"
        return PMSError(f"{self.dialect.label} {what} {record_id} unreadable{reason}")

    @staticmethod
    def _build(make: Callable[[], T]) -> T:
        """A request body from the caller's data; a mapping refusal is the caller's validation error."""
        try:
            return make()
        except ValueError as exc:
            # Our mappings' own messages name fields, never values; pydantic's may quote the input.
            detail = f"invalid {_fields(exc)}" if isinstance(exc, ValidationError) else str(exc)
            raise ValidationFailed(f"request rejected before sending: {detail}") from None


def _fields(exc: ValidationError) -> str:
    return ", ".join(
        sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors(include_input=False)})
    )
