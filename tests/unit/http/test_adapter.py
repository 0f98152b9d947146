"""The shared HTTP-adapter skeleton: paging through the dialect, and how answers and refusals are worded."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from adapters.domain import Location, Operatory
from adapters.errors import PMSError, ValidationFailed
from adapters.http import Token, TokenCache
from adapters.http.adapter import HttpAdapter
from adapters.http.dialect import HttpDialect
from adapters.http.errors import VendorErrors
from adapters.http.paging import OffsetPaging
from adapters.http.settings import HttpSettings


class _ForeverToken:
    async def fetch(self, client: httpx.AsyncClient) -> Token:
        return Token(value="t", expires_at=float("inf"))


class _Toy(HttpAdapter):
    kind = "TOY"
    dialect = HttpDialect(
        label="Toy",
        path_prefix="/api",
        errors=VendorErrors(label="Toy", code_of=lambda body: None, types={}),
        paging=OffsetPaging(number_param="page", size_param="size", items_key="items", total_key="total"),
        auth_header=lambda token: {},
        record_key="data",
        id_keys=("Id", "id"),
    )

    async def _load_locations(self) -> tuple[Location, ...]:
        return ()

    async def _load_operatories(self) -> tuple[Operatory, ...]:
        return ()


_Toy.__abstractmethods__ = (
    frozenset()
)  # the nine operations are the vendors'; only the skeleton is under test


def _toy(handler: Any, page_size: int = 2) -> _Toy:
    settings = HttpSettings(base_url="https://toy.test", page_size=page_size)
    return _Toy(
        settings,
        tokens=TokenCache(_ForeverToken()),
        headers={"X-Toy": "1"},
        transport=httpx.MockTransport(handler),
    )


async def test_rows_walk_the_dialects_pages_with_the_fixed_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = int(request.url.params["page"])
        return httpx.Response(200, json={"items": [{"id": page}] * (2 if page == 1 else 1), "total": 3})

    toy = _toy(handler)
    rows = [row async for row in toy._rows("/things", {"q": "x"})]
    await toy.close()
    assert rows == [{"id": 1}, {"id": 1}, {"id": 2}]
    assert [r.url.path for r in seen] == ["/api/things", "/api/things"]
    assert [dict(r.url.params) for r in seen] == [
        {"q": "x", "page": "1", "size": "2"},
        {"q": "x", "page": "2", "size": "2"},
    ]
    assert seen[0].headers["X-Toy"] == "1"


async def test_a_malformed_page_is_a_pms_error_naming_vendor_and_route() -> None:
    toy = _toy(lambda request: httpx.Response(200, json={"rows": []}))
    with pytest.raises(PMSError, match=r"^Toy /things: page without items or total$"):
        [row async for row in toy._rows("/things")]
    await toy.close()


async def test_a_record_comes_bare_or_in_its_envelope() -> None:
    answers = iter([{"data": {"id": "7"}}, {"id": "8"}, ["not", "an", "object"]])
    toy = _toy(lambda request: httpx.Response(200, json=next(answers)))
    assert await toy._get_one("/things/{id}", "7") == {"id": "7"}
    assert await toy._get_one("/things/{id}", "8") == {"id": "8"}
    with pytest.raises(PMSError, match="not a JSON object"):
        await toy._get_one("/things/{id}", "9")
    await toy.close()


class _Strict(BaseModel):
    count: int


def _invalid(row: dict[str, Any]) -> Any:
    return _Strict.model_validate(row)


@pytest.mark.parametrize(
    ("read", "row", "message"),
    [
        (_invalid, {"Id": 5, "count": "Jane"}, "Toy thing 5 unreadable: invalid count"),
        (lambda row: row["missing"], {"id": 6}, "Toy thing 6 unreadable: missing missing"),
        (lambda row: int(row["name"]), {"name": "Jane"}, "Toy thing None unreadable (ValueError)"),
    ],
)
def test_an_unreadable_record_names_fields_never_values(read: Any, row: dict[str, Any], message: str) -> None:
    toy = _toy(lambda request: httpx.Response(500))
    with pytest.raises(PMSError) as info:
        toy._decode(read, row, "thing")
    assert info.value.message == message
    assert "Jane" not in info.value.message


def test_a_refused_request_is_the_callers_validation_error() -> None:
    def ours() -> None:
        raise ValueError("start: not a time the office has")

    def pydantics() -> None:
        _Strict.model_validate({"count": "Jane"})

    with pytest.raises(ValidationFailed, match=r"^request rejected before sending: start: not a time"):
        HttpAdapter._build(ours)
    with pytest.raises(ValidationFailed, match=r"^request rejected before sending: invalid count$"):
        HttpAdapter._build(pydantics)
