"""The ASGI middleware that applies a :class:`~adapters.sandbox.faults.Decision` to each request.

How each action looks to a client:

- ``respond``: the vendor's error body (rendered by the vendor sandbox) with its status; 429 carries
  ``Retry-After``.
- ``hang``: nothing for ``seconds``; then the normal answer (``then=answer``) or a dropped connection.
- ``refuse`` (outage): the connection is aborted before any byte of response. An ASGI app cannot refuse a
  TCP connection, so a client sees "server disconnected without a response" (a reset), which it must treat
  like a refused connection; :class:`~adapters.sandbox.runner.RunningServer` can in addition stop
  listening for a real ``ECONNREFUSED`` (see ``POST /_admin/outage``).
- ``lost_response``: the app handles the request (the write is applied), its answer is thrown away and the
  connection is aborted (after ``seconds`` if given).

The app reads the decision's read lag through :func:`read_lag_s`. Admin routes are never faulted nor logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.sandbox.faults import Action, Decision, FaultEngine
from adapters.sandbox.request_log import RequestLog

__all__ = ["ADMIN_PREFIX", "FaultMiddleware", "read_lag_s"]

ADMIN_PREFIX = "/_admin"
_LAG_KEY = "sandbox.read_lag_s"

log = logging.getLogger(__name__)

ErrorRenderer = Callable[[Decision], Response]


def read_lag_s(scope: Scope) -> float:
    """The read lag a ``stale_reads`` fault put on this request (0 when none)."""
    state = scope.get("state") or {}
    return float(state.get(_LAG_KEY, 0.0))


class FaultMiddleware:
    """Wraps a vendor app: decides, delays, fails, hangs or drops, and logs every non-admin request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        engine: FaultEngine,
        request_log: RequestLog,
        render_error: ErrorRenderer,
        api_prefix: str = "",
        on_expire_tokens: Callable[[], object] = lambda: None,
    ) -> None:
        self.app = app
        self.engine = engine
        self.request_log = request_log
        self.render_error = render_error
        self.api_prefix = api_prefix
        self.on_expire_tokens = on_expire_tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        arrived = self.request_log.now()
        decision = self.engine.decide(method, path, path.removeprefix(self.api_prefix))
        status: list[int] = []
        try:
            await self._apply(decision, scope, receive, _status_spy(send, status))
        finally:
            code = status[0] if status else None
            self.request_log.record(method, path, code, tuple(k.value for k in decision.fired), arrived)
            if decision.fired:
                log.info(
                    "sandbox fault method=%s path=%s faults=%s status=%s", method, path, decision.fired, code
                )

    async def _apply(self, decision: Decision, scope: Scope, receive: Receive, send: Send) -> None:
        if decision.expire_tokens:
            self.on_expire_tokens()
        if decision.delay_s > 0:
            await asyncio.sleep(decision.delay_s)
        if decision.action is Action.REFUSE:
            await _drop(receive)
            return
        if decision.action is Action.RESPOND:
            await self.render_error(decision)(scope, receive, send)
            return
        if decision.action is Action.HANG:
            await asyncio.sleep(decision.hang_s)
            if decision.drop_after_hang:
                await _drop(receive)
                return
        scope.setdefault("state", {})[_LAG_KEY] = decision.read_lag_s
        if decision.action is Action.LOST_RESPONSE:
            await self.app(scope, receive, _swallow)
            await asyncio.sleep(decision.hang_s)
            await _drop(receive)
            return
        await self.app(scope, receive, send)


def _status_spy(send: Send, into: list[int]) -> Send:
    async def spy(message: Message) -> None:
        if message["type"] == "http.response.start":
            into.append(int(message["status"]))
        await send(message)

    return spy


async def _swallow(message: Message) -> None:
    """A ``send`` that loses the response."""


class ConnectionDropped(Exception):
    """Raised where the server gives no handle on the connection (e.g. an in-memory test client)."""


async def _drop(receive: Receive) -> None:
    """Abort the TCP connection without a response.

    uvicorn hands the app bound methods of its per-request cycle, which holds the transport: aborting it
    resets the connection, and uvicorn, seeing the disconnect, sends nothing more.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionDropped("sandbox dropped the connection")
    transport.abort()
    # Let connection_lost run so that uvicorn marks the cycle disconnected before the app returns.
    for _ in range(3):
        await asyncio.sleep(0)
