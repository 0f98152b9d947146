"""The dashboard's HTTP surface (Starlette): the page, the part of it the refresh script swaps in, the same
data as JSON, a health check, and the bundled CSS and script.

    GET /               the page (server-rendered)          GET /api/snapshot   the page's data as JSON
    GET /live           the live part, for static/refresh.js GET /health         UP once the feed has read
    GET /static/...     dashboard.css, refresh.js                                 the status topic
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ops.dashboard.page import Pages
from ops.dashboard.settings import DashboardSettings
from ops.dashboard.state import ClusterState
from ops.dashboard.view import View, build_view, plain

__all__ = ["Source", "build_app"]

_NO_STORE = {"Cache-Control": "no-store"}


class Source(Protocol):
    """Where the page's data comes from: :class:`ops.dashboard.feed.Feed`, or a fixed state in tests."""

    def snapshot(self) -> ClusterState: ...

    def health(self) -> dict[str, Any]: ...


def build_app(
    settings: DashboardSettings, source: Source, clock: Callable[[], datetime] | None = None
) -> Starlette:
    pages = Pages(settings)
    now = clock or (lambda: datetime.now(UTC))

    def view() -> View:
        return build_view(source.snapshot(), now(), settings)

    async def page(request: Request) -> Response:
        return HTMLResponse(pages.page(view()), headers=_NO_STORE)

    async def live(request: Request) -> Response:
        return HTMLResponse(pages.live(view()), headers=_NO_STORE)

    async def snapshot(request: Request) -> Response:
        return JSONResponse(plain(view()), headers=_NO_STORE)

    async def health(request: Request) -> Response:
        report = source.health()
        return JSONResponse(
            report, status_code=200 if report.get("status") == "UP" else 503, headers=_NO_STORE
        )

    static = StaticFiles(directory=Path(__file__).with_name("static"))
    return Starlette(
        routes=[
            Route("/", page),
            Route("/live", live),
            Route("/api/snapshot", snapshot),
            Route("/health", health),
            Mount("/static", static, name="static"),
        ]
    )
