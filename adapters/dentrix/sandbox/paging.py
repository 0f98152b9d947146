"""Keyset pagination: ``pageSize`` (default 50, any positive integer) and ``lastId``; records in numeric id order.

The public record of Ascend gives no maximum page size, and integrators of the real API are seen asking for
500 records a page, so the sandbox accepts what real clients send: a limit here would refuse a request the
real API serves. (The adapter keeps its own pages at 100 or fewer.)

A page holds the first ``pageSize`` matching records whose id is greater than ``lastId``. A page with
fewer than ``pageSize`` records is the last; when the records run out on a full page, the next page is
empty. Ids compare as numbers, so ``"9990" < "10001"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_PAGE_SIZE", "PageRequest", "PagingError", "page_request", "take_page"]

DEFAULT_PAGE_SIZE = 50

Record = Mapping[str, Any]


class PagingError(ValueError):
    """``pageSize`` or ``lastId`` is not acceptable; the message names the parameter."""


@dataclass(frozen=True)
class PageRequest:
    page_size: int = DEFAULT_PAGE_SIZE
    last_id: int | None = None


def page_request(page_size: str | None, last_id: str | None) -> PageRequest:
    """The paging parameters of a list call, from their query-string text (None when absent)."""
    size = DEFAULT_PAGE_SIZE
    if page_size is not None:
        if not page_size.isdigit() or int(page_size) < 1:
            raise PagingError("pageSize must be a positive integer")
        size = int(page_size)
    after: int | None = None
    if last_id is not None and last_id != "":
        if not last_id.isdigit():
            raise PagingError("lastId must be the numeric id of a record")
        after = int(last_id)
    return PageRequest(size, after)


def take_page(
    records: Iterable[Record], request: PageRequest, keep: Callable[[Record], bool] = lambda _: True
) -> list[Record]:
    """One page of ``records`` (in any order) that pass ``keep``, per the module rules."""
    ordered = sorted(records, key=lambda record: int(record["id"]))
    page: list[Record] = []
    for record in ordered:
        if request.last_id is not None and int(record["id"]) <= request.last_id:
            continue
        if keep(record):
            page.append(record)
            if len(page) == request.page_size:
                break
    return page
