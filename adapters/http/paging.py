"""How a vendor pages a list, as pure steps: the query of each page, and reading one page's answer.

A :class:`Paging` starts a :class:`Cursor` for a page size; a cursor knows the query parameters of its page
and, given the page's parsed body, returns the page's records and the cursor of the next page (None after
the last). The HTTP calls stay in :class:`adapters.http.adapter.HttpAdapter`, which walks the cursors. A
vendor names its own parameters and keys when it builds its paging, so nothing here knows a dialect.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

__all__ = ["Cursor", "KeysetPaging", "MalformedPage", "OffsetPaging", "Paging"]

Json = dict[str, Any]


class MalformedPage(ValueError):
    """A page that does not have the dialect's shape; the message names keys, never values."""


class Cursor(Protocol):
    @property
    def params(self) -> dict[str, str | int]:
        """The query parameters that ask for this page."""
        ...

    def read(self, body: Any) -> tuple[list[Json], Cursor | None]:
        """This page's records and the next page's cursor (None after the last); :class:`MalformedPage`."""
        ...


class Paging(Protocol):
    def start(self, size: int) -> Cursor: ...


@dataclass(frozen=True)
class KeysetPaging:
    """Keyset paging: ``size_param`` records whose id follows ``after_param`` (the last id of the previous
    page), in ``{rows_key: [...]}``; a page shorter than the size is the last."""

    size_param: str
    after_param: str
    rows_key: str
    id_key: str = "id"

    def start(self, size: int) -> Cursor:
        return _KeysetCursor(self, size)


@dataclass(frozen=True)
class _KeysetCursor:
    paging: KeysetPaging
    size: int
    after: str | None = None

    @property
    def params(self) -> dict[str, str | int]:
        params: dict[str, str | int] = {self.paging.size_param: str(self.size)}
        if self.after is not None:
            params[self.paging.after_param] = self.after
        return params

    def read(self, body: Any) -> tuple[list[Json], Cursor | None]:
        rows = body.get(self.paging.rows_key) if isinstance(body, dict) else None
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise MalformedPage(f"page without a {self.paging.rows_key} list")
        if len(rows) < self.size:
            return rows, None
        last = str(rows[-1].get(self.paging.id_key))
        if last == self.after:
            raise MalformedPage(f"paging did not advance past id {last}")
        return rows, replace(self, after=last)


@dataclass(frozen=True)
class OffsetPaging:
    """Offset paging: page ``number_param`` (from 1) of ``size_param`` records, in
    ``{items_key: [...], total_key: n}``; the last page is the one that reaches the total (or is empty)."""

    number_param: str
    size_param: str
    items_key: str
    total_key: str

    def start(self, size: int) -> Cursor:
        return _OffsetCursor(self, size)


@dataclass(frozen=True)
class _OffsetCursor:
    paging: OffsetPaging
    size: int
    number: int = 1
    seen: int = 0

    @property
    def params(self) -> dict[str, str | int]:
        return {self.paging.number_param: self.number, self.paging.size_param: self.size}

    def read(self, body: Any) -> tuple[list[Json], Cursor | None]:
        items = body.get(self.paging.items_key) if isinstance(body, dict) else None
        total = body.get(self.paging.total_key) if isinstance(body, dict) else None
        if not isinstance(items, list) or not isinstance(total, int):
            raise MalformedPage(f"page without {self.paging.items_key} or {self.paging.total_key}")
        rows = [row for row in items if isinstance(row, dict)]
        seen = self.seen + len(rows)
        if not rows or seen >= total:
            return rows, None
        return rows, replace(self, number=self.number + 1, seen=seen)
