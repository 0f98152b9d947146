"""``Limit`` (1..100, default 100: the Remote API's hard limit) and ``Offset`` (from 0) over a list in primary-key
order. Pure functions.

Offsets skip or repeat a record when the list changes between two pages; the real API behaves that way (its
documentation calls the risk of page drift minuscule), and so does this one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_LIMIT", "PAGING_PARAMS", "Page", "PagingError", "page_of", "page_request"]

MAX_LIMIT = 100
PAGING_PARAMS = frozenset({"Limit", "Offset"})


class PagingError(ValueError):
    """A paging parameter is not acceptable; the message names it."""


@dataclass(frozen=True)
class Page:
    limit: int = MAX_LIMIT
    offset: int = 0


def page_request(limit: str | None, offset: str | None) -> Page:
    size = MAX_LIMIT
    if limit is not None:
        if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
            raise PagingError(f"Limit must be a number from 1 to {MAX_LIMIT}.")
        size = int(limit)
    start = 0
    if offset is not None:
        if not offset.isdigit():
            raise PagingError("Offset must be a number of 0 or more.")
        start = int(offset)
    return Page(size, start)


def page_of(items: Sequence[Mapping[str, Any]], page: Page) -> list[dict[str, Any]]:
    """One page of ``items`` (already filtered and ordered): a bare JSON array, as Open Dental answers."""
    return [dict(item) for item in items[page.offset : page.offset + page.limit]]
