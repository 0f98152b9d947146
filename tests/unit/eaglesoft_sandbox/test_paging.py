from __future__ import annotations

import pytest

from adapters.eaglesoft.sandbox.paging import Page, PagingError, page_of, page_request


@pytest.mark.parametrize(
    ("number", "size", "expected"),
    [
        (None, None, Page(1, 50)),
        ("3", "200", Page(3, 200)),
        ("1", "1", Page(1, 1)),
    ],
)
def test_page_request(number: str | None, size: str | None, expected: Page) -> None:
    assert page_request(number, size) == expected


@pytest.mark.parametrize(
    ("number", "size", "named"),
    [("0", None, "PageNumber"), ("-1", None, "PageNumber"), ("x", None, "PageNumber"), (None, "201", "PageSize"),
     (None, "0", "PageSize"), (None, "1.5", "PageSize")],
)  # fmt: skip
def test_bad_paging_names_the_parameter(number: str | None, size: str | None, named: str) -> None:
    with pytest.raises(PagingError, match=named):
        page_request(number, size)


@pytest.mark.parametrize(
    ("page", "ids"),
    [(Page(1, 4), [0, 1, 2, 3]), (Page(3, 4), [8, 9]), (Page(4, 4), []), (Page(1, 200), list(range(10)))],
)
def test_page_of(page: Page, ids: list[int]) -> None:
    body = page_of([{"Id": i} for i in range(10)], page)
    assert [item["Id"] for item in body["Items"]] == ids
    assert (body["PageNumber"], body["PageSize"], body["TotalCount"]) == (page.number, page.size, 10)
