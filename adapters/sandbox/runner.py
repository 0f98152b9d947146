"""Serve a sandbox app with uvicorn: in the foreground (the CLI) or on a background thread (tests).

:func:`run_in_thread` binds the socket itself, so ``port=0`` picks a free port that is known before the
server starts. The returned :class:`RunningServer` can also stop and resume listening, which gives a client
a real "connection refused" (an outage) rather than the reset an ASGI app can produce on its own.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import uvicorn
from starlette.types import ASGIApp

__all__ = ["ListenerControl", "RunningServer", "run_in_thread", "serve"]

# Hung requests (hang faults) must not keep a stopping server alive for long.
_GRACEFUL_SHUTDOWN_S = 1


class ListenerControl:
    """Closes and reopens the listening socket of a running uvicorn server, from any thread."""

    def __init__(self, server: uvicorn.Server, host: str, port: int) -> None:
        self._server = server
        self._host = host
        self._port = port
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def outage(self, seconds: float) -> None:
        """Stop accepting connections now, and accept again after ``seconds``."""
        loop = self._require_loop()
        loop.call_soon_threadsafe(self._close)
        loop.call_soon_threadsafe(loop.call_later, seconds, self._reopen_soon)

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self.loop is None:
            raise RuntimeError("the server is not running")
        return self.loop

    def _close(self) -> None:
        for server in self._server.servers:
            server.close()

    def _reopen_soon(self) -> None:
        if not self._server.should_exit:
            task = asyncio.ensure_future(self._reopen())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _reopen(self) -> None:
        config = self._server.config
        # The same factory uvicorn's own startup builds (uvicorn types the class as a bare Protocol).
        factory = functools.partial(
            config.http_protocol_class,  # type: ignore[call-arg]
            config=config,
            server_state=self._server.server_state,
            app_state=self._server.lifespan.state,
        )
        sock = bind_socket(self._host, self._port)
        reopened = await asyncio.get_running_loop().create_server(factory, sock=sock)
        self._server.servers.append(reopened)


@dataclass
class RunningServer:
    base_url: str
    host: str
    port: int
    listener: ListenerControl
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def outage(self, seconds: float) -> None:
        self.listener.outage(seconds)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # An explicit IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only when the protocol says TCP,
    # and without it every response waits ~40 ms on delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _config(app: ASGIApp, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # the sandbox keeps its own request log, without query strings
        lifespan="off",
        http="h11",
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S,
    )


def run_in_thread(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    log_level: str = "warning",
    ready_timeout: float = 10.0,
    on_listener: Callable[[ListenerControl], None] | None = None,
) -> RunningServer:
    """Start ``app`` on a daemon thread with its own event loop; return once it accepts connections."""
    sock = bind_socket(host, port)
    bound_port = int(sock.getsockname()[1])
    server = uvicorn.Server(_config(app, host, bound_port, log_level))
    listener = ListenerControl(server, host, bound_port)
    if on_listener is not None:
        on_listener(listener)

    async def main() -> None:
        listener.loop = asyncio.get_running_loop()
        await server.serve(sockets=[sock])

    thread = threading.Thread(target=asyncio.run, args=(main(),), name=f"sandbox-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + ready_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("sandbox server did not start")
        time.sleep(0.01)
    host_part = f"[{host}]" if ":" in host else host
    return RunningServer(f"http://{host_part}:{bound_port}", host, bound_port, listener, server, thread)


def serve(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    log_level: str = "info",
    on_listener: Callable[[ListenerControl], None] | None = None,
) -> None:
    """Run in the foreground until Ctrl-C (uvicorn handles the signal)."""
    sock = bind_socket(host, port)
    server = uvicorn.Server(_config(app, host, port, log_level))
    listener = ListenerControl(server, host, port)
    if on_listener is not None:
        on_listener(listener)

    async def main() -> None:
        listener.loop = asyncio.get_running_loop()
        await server.serve(sockets=[sock])

    asyncio.run(main())
