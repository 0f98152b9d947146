"""Keyset and offset paging as pure steps: the query of each page and where the walk stops."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.http.paging import Cursor, KeysetPaging, MalformedPage, OffsetPaging

KEYSET = KeysetPaging(size_param="pageSize", after_param="lastId", rows_key="data")
OFFSET = OffsetPaging(
    number_param="PageNumber", size_param="PageSize", items_key="Items", total_key="TotalCount"
)


def _walk(cursor: Cursor | None, pages: list[Any]) -> list[dict[str, str | int]]:
    """The query of every page asked for, answering them with ``pages`` in order."""
    asked = []
    for body in pages:
        assert cursor is not None, "asked for fewer pages than answered"
        asked.append(cursor.params)
        _, cursor = cursor.read(body)
    assert cursor is None, "the walk did not stop at the last page"
    return asked


def _rows(*ids: int) -> list[dict[str, Any]]:
    return [{"id": str(i)} for i in ids]


@pytest.mark.parametrize(
    ("pages", "asked"),
    [
        pytest.param([{"data": _rows(1)}], [{"pageSize": "2"}], id="short-first-page"),
        pytest.param([{"data": []}], [{"pageSize": "2"}], id="empty"),
        pytest.param(
            [{"data": _rows(1, 2)}, {"data": _rows(3)}],
            [{"pageSize": "2"}, {"pageSize": "2", "lastId": "2"}],
            id="two-pages",
        ),
        pytest.param(
            [{"data": _rows(1, 2)}, {"data": []}],
            [{"pageSize": "2"}, {"pageSize": "2", "lastId": "2"}],
            id="full-last-page-then-empty",
        ),
    ],
)
def test_keyset_walk(pages: list[Any], asked: list[dict[str, str]]) -> None:
    assert _walk(KEYSET.start(2), pages) == asked


@pytest.mark.parametrize(
    ("pages", "asked"),
    [
        pytest.param([{"Items": [{}], "TotalCount": 1}], [{"PageNumber": 1, "PageSize": 2}], id="one-page"),
        pytest.param([{"Items": [], "TotalCount": 5}], [{"PageNumber": 1, "PageSize": 2}], id="empty-stops"),
        pytest.param(
            [{"Items": [{}, {}], "TotalCount": 3}, {"Items": [{}], "TotalCount": 3}],
            [{"PageNumber": 1, "PageSize": 2}, {"PageNumber": 2, "PageSize": 2}],
            id="until-the-total",
        ),
    ],
)
def test_offset_walk(pages: list[Any], asked: list[dict[str, int]]) -> None:
    assert _walk(OFFSET.start(2), pages) == asked


def test_keyset_refuses_a_page_that_does_not_advance() -> None:
    _, cursor = KEYSET.start(1).read({"data": _rows(7)})
    assert cursor is not None
    with pytest.raises(MalformedPage, match="did not advance past id 7"):
        cursor.read({"data": _rows(7)})


@pytest.mark.parametrize(
    ("paging", "body", "named"),
    [
        (KEYSET, {"items": []}, "data"),
        (KEYSET, {"data": ["not a record"]}, "data"),
        (KEYSET, ["data"], "data"),
        (OFFSET, {"Items": []}, "TotalCount"),
        (OFFSET, {"Items": None, "TotalCount": 1}, "Items"),
    ],
)
def test_a_malformed_page_names_the_missing_key(paging: Any, body: Any, named: str) -> None:
    with pytest.raises(MalformedPage, match=named):
        paging.start(2).read(body)


def test_offset_keeps_only_records() -> None:
    rows, _ = OFFSET.start(5).read({"Items": [{"a": 1}, "junk"], "TotalCount": 2})
    assert rows == [{"a": 1}]
