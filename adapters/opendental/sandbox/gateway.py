"""Open Dental's 60-second gateway: a request the office has not answered within ``seconds`` is answered 504.

Wraps the faulted app (so a ``hang`` or a slow ``latency`` fault longer than the limit ends in a 504, as at
the real gateway, and a shorter one passes through untouched). The request log line of such a request is
written by the fault middleware inside, as the request unwinds; :class:`TimedOutLog` makes that line say 504,
what the client got, rather than "dropped".
"""

from __future__ import annotations

import asyncio
import contextlib
from contextvars import ContextVar

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.sandbox.middleware import ADMIN_PREFIX
from adapters.sandbox.request_log import RequestLog

__all__ = ["GatewayTimeout", "TimedOutLog"]

GATEWAY_STATUS = 504
_TIMED_OUT: ContextVar[list[bool] | None] = ContextVar("od_gateway_timed_out", default=None)


class TimedOutLog(RequestLog):
    """A request log that records a request the gateway timed out with its 504."""

    def record(self, method: str, path: str, status: int | None, faults: tuple[str, ...], at: float) -> None:
        flag = _TIMED_OUT.get()
        if status is None and flag is not None and flag[0]:
            status = GATEWAY_STATUS
        super().record(method, path, status, faults, at)


class GatewayTimeout:
    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        flag = [False]
        started: list[bool] = []

        async def guarded(message: Message) -> None:
            if flag[0]:
                return  # the gateway already answered
            if message["type"] == "http.response.start":
                started.append(True)
            await send(message)

        token = _TIMED_OUT.set(flag)
        try:
            inner = asyncio.ensure_future(self.app(scope, receive, guarded))
        finally:
            _TIMED_OUT.reset(token)
        done, _ = await asyncio.wait({inner}, timeout=self.seconds)
        if inner in done:
            inner.result()
            return
        flag[0] = True
        inner.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await inner
        if not started:
            message = f"The request timed out after {self.seconds:g} seconds."
            timeout = PlainTextResponse(message, status_code=GATEWAY_STATUS)
            await timeout(scope, receive, send)
