"""Bearer-token caching shared by every request to one PMS credential.

How a token is obtained (:class:`TokenSource`) and how it goes on a request (the client's ``auth_header``)
belong to the vendor; the cache only decides *when* to fetch: ahead of expiry, once after a 401, and never
twice at the same time for one credential (single flight).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from adapters.errors import PMSError
from adapters.http.errors import map_transport_errors

__all__ = ["Token", "TokenCache", "TokenSource"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Token:
    """An access token and the instant it expires, on the cache's (monotonic) clock."""

    value: str
    expires_at: float

    def __repr__(self) -> str:
        return f"Token(value='***', expires_at={self.expires_at})"


class TokenSource(Protocol):
    """Fetches a fresh token from the vendor's token endpoint.

    Failures raise :class:`adapters.errors.PMSError` subclasses chosen by the vendor (a 400/401 from the token
    endpoint is :class:`~adapters.errors.Unauthorized`: permanent).
    """

    async def fetch(self, client: httpx.AsyncClient) -> Token: ...


class TokenCache:
    """The current token of one credential, refreshed ``refresh_ahead`` seconds before it expires."""

    def __init__(
        self,
        source: TokenSource,
        *,
        refresh_ahead: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._refresh_ahead = refresh_ahead
        self._clock = clock
        self._token: Token | None = None
        self._lock = asyncio.Lock()

    async def get(self, client: httpx.AsyncClient) -> str:
        """A token good for at least ``refresh_ahead`` more seconds, fetching one if needed."""
        token = self._token
        if token is not None and not self._due(token):
            return token.value
        async with self._lock:
            token = self._token
            if token is not None and not self._due(token):
                return token.value  # another task refreshed while we waited for the lock
            return await self._fetch(client)

    async def refresh(self, client: httpx.AsyncClient, *, stale: str | None) -> str:
        """A token other than ``stale`` (the one the PMS just refused with a 401).

        If another task already replaced ``stale``, its token is reused rather than fetching again.
        """
        async with self._lock:
            token = self._token
            if token is not None and token.value != stale and token.expires_at > self._clock():
                return token.value
            self._token = None  # the PMS refused it: never serve it again, even if the fetch fails
            return await self._fetch(client)

    def invalidate(self) -> None:
        """Forget the current token; the next :meth:`get` fetches a new one."""
        self._token = None

    def _due(self, token: Token) -> bool:
        return self._clock() >= token.expires_at - self._refresh_ahead

    async def _fetch(self, client: httpx.AsyncClient) -> str:
        current = self._token
        try:
            with map_transport_errors("token fetch", write=False):
                token = await self._source.fetch(client)
        except PMSError as exc:
            if current is not None and current.expires_at > self._clock():
                # Refreshing ahead failed but the old token is still valid: keep serving it until it is not.
                _log.warning("token refresh ahead failed, keeping current token code=%s", exc.code)
                return current.value
            raise
        self._token = token
        return token.value
