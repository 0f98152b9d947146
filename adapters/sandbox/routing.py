"""Routing on the path as the client sent it, so that an encoded id stays one id.

ASGI servers decode ``scope["path"]`` before the app sees it: ``/practices/1%2Fchairs`` (practice ``1/chairs``)
arrives as ``/practices/1/chairs`` and Starlette routes it to the chair list. A real API routes on the path as
sent and answers 404 for an id it does not know. :class:`RawPathRouting` puts the still-encoded path
(``scope["raw_path"]``) in ``scope["path"]``, so routes match segments as sent and the fault engine and
request log see them so too; handlers decode each path parameter once, with :func:`path_param`.
"""

from __future__ import annotations

from urllib.parse import unquote

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["RawPathRouting", "path_param"]


class RawPathRouting:
    """Wraps an app so that everything below it sees the percent-encoded path (never the query)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw:
            # Clients percent-encode everything else; latin-1 keeps any stray byte as one character.
            scope = {**scope, "path": raw.decode("latin-1")}
        await self.app(scope, receive, send)


def path_param(request: Request, name: str) -> str:
    """A path parameter of the route, decoded: ``a%2Fb`` is the id ``a/b``."""
    return unquote(str(request.path_params[name]))
