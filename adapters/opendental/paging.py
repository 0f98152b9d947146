"""Open Dental's paging: ``Limit`` (at most 100, the default) and ``Offset``, over a bare JSON array.

The documented strategy: ask for a page; a page of exactly ``Limit`` rows may have a successor, so ask again
at ``Offset + rows``; a shorter page is the last. A :class:`adapters.http.paging.Paging` of pure steps, so
the shared :class:`~adapters.http.adapter.HttpAdapter` walks every page.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from adapters.http.paging import Cursor, MalformedPage

__all__ = ["MAX_LIMIT", "LimitOffsetPaging"]

MAX_LIMIT = 100  # the Remote API's hard limit per request
Json = dict[str, Any]


@dataclass(frozen=True)
class LimitOffsetPaging:
    limit_param: str = "Limit"
    offset_param: str = "Offset"

    def start(self, size: int) -> Cursor:
        if not 1 <= size <= MAX_LIMIT:
            raise ValueError(f"an Open Dental page holds 1 to {MAX_LIMIT} rows")
        return _LimitOffsetCursor(self, size)


@dataclass(frozen=True)
class _LimitOffsetCursor:
    paging: LimitOffsetPaging
    size: int
    offset: int = 0

    @property
    def params(self) -> dict[str, str | int]:
        return {self.paging.limit_param: self.size, self.paging.offset_param: self.offset}

    def read(self, body: Any) -> tuple[list[Json], Cursor | None]:
        if not isinstance(body, list) or not all(isinstance(row, dict) for row in body):
            raise MalformedPage("page is not a JSON array of objects")
        if len(body) < self.size:
            return body, None
        # More rows than asked means the server ignored Limit: the next page still starts after them.
        return body, replace(self, offset=self.offset + len(body))
