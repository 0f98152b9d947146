"""Sessions opened by ``POST /session``: opaque tokens that expire, and can all be revoked at once."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable

__all__ = ["SessionStore"]


class SessionStore:
    def __init__(
        self,
        integration_key: str,
        user_id: str,
        password: str,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = (integration_key, user_id, password)
        self._ttl_s = ttl_s
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def ttl_s(self) -> float:
        return self._ttl_s

    def open(self, integration_key: str, user_id: str, password: str) -> str | None:
        """A new session token, or None for wrong credentials."""
        given = (integration_key, user_id, password)
        if not all(
            secrets.compare_digest(a.encode(), b.encode())
            for a, b in zip(given, self._credentials, strict=True)
        ):
            return None
        token = secrets.token_hex(16)
        with self._lock:
            now = self._clock()
            self._expiry = {t: at for t, at in self._expiry.items() if at > now}
            self._expiry[token] = now + self._ttl_s
        return token

    def is_live(self, token: str) -> bool:
        with self._lock:
            expires_at = self._expiry.get(token)
        return expires_at is not None and expires_at > self._clock()

    def revoke_all(self) -> int:
        with self._lock:
            count = len(self._expiry)
            self._expiry.clear()
        return count
