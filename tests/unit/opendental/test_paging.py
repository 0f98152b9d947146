"""Limit/Offset paging over bare arrays, as pure steps: every page until a short one."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.http.paging import MalformedPage
from adapters.opendental.paging import MAX_LIMIT, LimitOffsetPaging


def _walk(pages: list[Any], size: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    cursor = LimitOffsetPaging().start(size)
    rows: list[dict[str, Any]] = []
    asked = []
    for body in pages:
        assert cursor is not None, "asked past the last page"
        asked.append(cursor.params)
        page, cursor = cursor.read(body)
        rows += page
    assert cursor is None, "stopped before the last page"
    return rows, asked


@pytest.mark.parametrize(
    ("pages", "size", "offsets"),
    [
        ([[{"id": 1}]], 100, [0]),
        ([[]], 100, [0]),
        ([[{"id": n} for n in range(2)], [{"id": 2}]], 2, [0, 2]),
        ([[{"id": n} for n in range(2)], [{"id": 2}, {"id": 3}], []], 2, [0, 2, 4]),  # a full last page
        ([[{"id": n} for n in range(3)], [{"id": 3}]], 2, [0, 3]),  # the server sent more than asked
    ],
)
def test_every_page_until_a_short_one(pages: list[Any], size: int, offsets: list[int]) -> None:
    rows, asked = _walk(pages, size)
    assert [p["Offset"] for p in asked] == offsets
    assert {p["Limit"] for p in asked} == {size}
    assert len(rows) == sum(len(page) for page in pages)


@pytest.mark.parametrize("body", [{"data": []}, [1, 2], None, "[]"])
def test_a_page_that_is_not_an_array_of_objects(body: Any) -> None:
    with pytest.raises(MalformedPage):
        LimitOffsetPaging().start(10).read(body)


@pytest.mark.parametrize("size", [0, MAX_LIMIT + 1])
def test_a_page_holds_1_to_100_rows(size: int) -> None:
    with pytest.raises(ValueError, match="100"):
        LimitOffsetPaging().start(size)
