"""adapters.sandbox.routing: routes match the path as sent, so an encoded id is one id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters.sandbox.routing import RawPathRouting, path_param


def _answer(route: str) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def endpoint(request: Request) -> JSONResponse:
        return JSONResponse({"route": route, "id": path_param(request, "id"), "q": request.url.query})

    return endpoint


APP = RawPathRouting(
    Starlette(routes=[Route("/p/{id}", _answer("one")), Route("/p/{id}/chairs", _answer("chairs"))])
)


@pytest.mark.parametrize(
    ("sent", "route", "record_id"),
    [
        ("/p/1%2Fchairs", "one", "1/chairs"),  # decoded first, this was the chair list of practice 1
        ("/p/1/chairs", "chairs", "1"),
        ("/p/%2E%2E", "one", ".."),
        ("/p/a%20b", "one", "a b"),
        ("/p/%252F", "one", "%2F"),
        ("/p/x%3Fy%3D1", "one", "x?y=1"),
        ("/p/a%2Fb%2Fc", "one", "a/b/c"),
    ],
)
async def test_routes_match_the_path_as_sent(sent: str, route: str, record_id: str) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(APP), base_url="http://sandbox") as client:
        answer = (await client.get(sent, params={"k": "v"})).json()
    assert answer == {"route": route, "id": record_id, "q": "k=v"}


async def test_a_real_extra_segment_still_matches_no_route() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(APP), base_url="http://sandbox") as client:
        assert (await client.get("/p/a/b/c")).status_code == 404
