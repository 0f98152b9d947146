from __future__ import annotations

import pytest

from adapters.opendental.sandbox.paging import Page, PagingError, page_of, page_request


@pytest.mark.parametrize(
    ("limit", "offset", "expected"),
    [
        (None, None, Page(100, 0)),
        ("100", "0", Page(100, 0)),
        ("1", "400", Page(1, 400)),
        ("50", None, Page(50, 0)),
    ],
)
def test_page_request(limit: str | None, offset: str | None, expected: Page) -> None:
    assert page_request(limit, offset) == expected


@pytest.mark.parametrize(
    ("limit", "offset", "named"),
    [("101", None, "Limit"), ("1000", None, "Limit"), ("0", None, "Limit"), ("x", None, "Limit"),
     (None, "-1", "Offset"), (None, "1.5", "Offset")],
)  # fmt: skip
def test_a_page_over_100_or_malformed_is_refused(limit: str | None, offset: str | None, named: str) -> None:
    with pytest.raises(PagingError, match=named):
        page_request(limit, offset)


@pytest.mark.parametrize(
    ("page", "ids"),
    [(Page(4, 0), [0, 1, 2, 3]), (Page(4, 8), [8, 9]), (Page(4, 12), []), (Page(100, 0), list(range(10)))],
)
def test_page_of_is_a_bare_array(page: Page, ids: list[int]) -> None:
    assert [row["Id"] for row in page_of([{"Id": i} for i in range(10)], page)] == ids
