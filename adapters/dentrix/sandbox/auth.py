"""OAuth2 client credentials as Apigee answers them, and the bearer tokens it issued.

Tokens are opaque 28-character strings; they expire ``ttl_s`` after issue and can all be revoked at once
(the token-expiry fault). ``expires_in`` and ``issued_at`` are strings, as Apigee writes them.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Client", "IssuedToken", "TokenStore"]

_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    name: str
    organization_ids: tuple[str, ...]


@dataclass(frozen=True)
class IssuedToken:
    token: str
    client: Client
    expires_at: float  # clock seconds


class TokenStore:
    def __init__(
        self, clients: list[Client], ttl_s: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clients = {client.client_id: client for client in clients}
        self._ttl_s = ttl_s
        self._clock = clock
        self._tokens: dict[str, IssuedToken] = {}
        self._lock = threading.Lock()

    @property
    def ttl_s(self) -> int:
        return self._ttl_s

    def authenticate(self, client_id: str, client_secret: str) -> Client | None:
        client = self._clients.get(client_id)
        if client is None or not secrets.compare_digest(client.client_secret, client_secret):
            return None
        return client

    def issue(self, client: Client) -> IssuedToken:
        token = "".join(secrets.choice(_ALPHABET) for _ in range(28))
        issued = IssuedToken(token, client, self._clock() + self._ttl_s)
        with self._lock:
            self._tokens = {k: v for k, v in self._tokens.items() if v.expires_at > self._clock()}
            self._tokens[token] = issued
        return issued

    def client_for(self, token: str) -> Client | None:
        """The client of a live token; None for an unknown, expired or revoked one."""
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None or issued.expires_at <= self._clock():
            return None
        return issued.client

    def revoke_all(self) -> int:
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
        return count
