"""Offset pagination: ``PageNumber`` (from 1) and ``PageSize`` (1..200). Pure functions.

Offsets, unlike keysets, skip or repeat a record when the list changes between two pages: the real API
behaves that way, and so does this one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "Page", "PagingError", "page_of", "page_request"]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class PagingError(ValueError):
    """A paging parameter is not acceptable; the message names it."""


@dataclass(frozen=True)
class Page:
    number: int = 1
    size: int = DEFAULT_PAGE_SIZE


def page_request(number: str | None, size: str | None) -> Page:
    return Page(
        _bounded("PageNumber", number, 1, 1, None),
        _bounded("PageSize", size, DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
    )


def _bounded(name: str, text: str | None, default: int, low: int, high: int | None) -> int:
    if text is None:
        return default
    if not text.isdigit() or int(text) < low or (high is not None and int(text) > high):
        upper = f" to {high}" if high is not None else " or more"
        raise PagingError(f"{name} must be an integer from {low}{upper}")
    return int(text)


def page_of(items: Sequence[Mapping[str, Any]], page: Page) -> dict[str, Any]:
    """The response envelope for one page of ``items`` (already filtered and ordered)."""
    start = (page.number - 1) * page.size
    return {
        "Items": [dict(item) for item in items[start : start + page.size]],
        "PageNumber": page.number,
        "PageSize": page.size,
        "TotalCount": len(items),
    }
