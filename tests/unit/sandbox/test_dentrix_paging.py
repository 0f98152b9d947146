from __future__ import annotations

import pytest

from adapters.dentrix.sandbox.paging import PageRequest, PagingError, page_request, take_page

RECORDS = [{"id": str(i), "even": i % 2 == 0} for i in (10001, 9998, 9999, 10003, 10000, 10002)]


@pytest.mark.parametrize(
    ("request_", "ids"),
    [
        (PageRequest(2, None), ["9998", "9999"]),
        (PageRequest(2, 9999), ["10000", "10001"]),
        (PageRequest(3, 10001), ["10002", "10003"]),
        (PageRequest(2, 10003), []),
        (PageRequest(50, None), ["9998", "9999", "10000", "10001", "10002", "10003"]),
        (PageRequest(2, 5), ["9998", "9999"]),
    ],
)
def test_take_page_is_numeric_keyset(request_: PageRequest, ids: list[str]) -> None:
    assert [r["id"] for r in take_page(RECORDS, request_)] == ids


def test_filter_applies_before_the_page_is_cut() -> None:
    page = take_page(RECORDS, PageRequest(2, 9998), keep=lambda r: bool(r["even"]))
    assert [r["id"] for r in page] == ["10000", "10002"]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 6, 7])
def test_walking_every_page_yields_each_record_once(size: int) -> None:
    seen: list[str] = []
    last: int | None = None
    while True:
        page = take_page(RECORDS, PageRequest(size, last))
        seen += [r["id"] for r in page]
        if len(page) < size:
            break
        last = int(page[-1]["id"])
    assert sorted(seen, key=int) == sorted((r["id"] for r in RECORDS), key=int)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("size", "last", "expected"),
    [
        (None, None, PageRequest(50, None)),
        ("100", None, PageRequest(100, None)),
        ("500", None, PageRequest(500, None)),  # what integrators of the real API send
        ("1", "10002", PageRequest(1, 10002)),
        (None, "", PageRequest(50, None)),
    ],
)
def test_page_request(size: str | None, last: str | None, expected: PageRequest) -> None:
    assert page_request(size, last) == expected


@pytest.mark.parametrize(
    ("size", "last"), [("0", None), ("ten", None), ("-1", None), ("1.5", None), (None, "x1")]
)
def test_page_request_rejects(size: str | None, last: str | None) -> None:
    with pytest.raises(PagingError):
        page_request(size, last)
