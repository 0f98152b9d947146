"""Eaglesoft session login, as a :class:`adapters.http.TokenSource`.

``POST {base}/api/v1/session`` with ``{"IntegrationKey", "UserId", "Password"}`` answers
``{"SessionToken", "ExpiresAt"}``; ``ExpiresAt`` is naive like every Eaglesoft time, in the office server's
zone (:attr:`EaglesoftConfig.server_time_zone`, by default the practice's). The
token travels as ``X-Session-Token``. When to log in again (ahead of expiry, and once after a 401) is the
:class:`adapters.http.TokenCache`'s job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr

from adapters.eaglesoft.errors import EAGLESOFT_ERRORS
from adapters.eaglesoft.times import parse_local, to_utc
from adapters.errors import PMSError, Unauthorized
from adapters.http import Token

__all__ = [
    "FALLBACK_LIFETIME_SECONDS",
    "SESSION_HEADER",
    "SESSION_PATH",
    "SessionLogin",
    "parse_session",
    "session_auth",
    "session_lifetime",
]

SESSION_PATH = "/api/v1/session"
SESSION_HEADER = "X-Session-Token"
# Used when ExpiresAt is missing, unreadable or implausible: short, so a wrong guess costs one extra login.
FALLBACK_LIFETIME_SECONDS = 300.0
MAX_PLAUSIBLE_LIFETIME_SECONDS = 86400.0


def session_auth(token: str) -> dict[str, str]:
    """The client's ``auth_header`` for Eaglesoft."""
    return {SESSION_HEADER: token}


def parse_session(body: Any, *, zone: ZoneInfo, now_utc: datetime, now_mono: float) -> Token:
    """The session token of a login answer, expiring at ``ExpiresAt`` on the monotonic clock."""
    if not isinstance(body, dict):
        raise PMSError("Eaglesoft session response is not a JSON object")
    value = body.get("SessionToken")
    if not isinstance(value, str) or not value:
        raise PMSError("Eaglesoft session response has no SessionToken")
    return Token(value=value, expires_at=now_mono + session_lifetime(body.get("ExpiresAt"), zone, now_utc))


def session_lifetime(expires_at: object, zone: ZoneInfo, now_utc: datetime) -> float:
    """Seconds until a naive server-local ``ExpiresAt``; the short fallback when it is unreadable or not
    plausible (already past, or beyond a day: a server clock or zone we have wrong), so that a bad value
    costs an early login rather than a login per request or a long run on a dead session."""
    if not isinstance(expires_at, str):
        return FALLBACK_LIFETIME_SECONDS
    try:
        lifetime = (to_utc(parse_local(expires_at), zone) - now_utc).total_seconds()
    except ValueError:
        return FALLBACK_LIFETIME_SECONDS
    return lifetime if 0 < lifetime <= MAX_PLAUSIBLE_LIFETIME_SECONDS else FALLBACK_LIFETIME_SECONDS


class SessionLogin:
    """Logs in with one integration key and user; the client's base URL is the office server."""

    def __init__(
        self,
        integration_key: SecretStr,
        user_id: str,
        password: SecretStr,
        *,
        zone: ZoneInfo,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._integration_key = integration_key
        self._user_id = user_id
        self._password = password
        self._zone = zone
        self._clock = clock
        self._wall_clock = wall_clock

    async def fetch(self, client: httpx.AsyncClient) -> Token:
        body = {
            "IntegrationKey": self._integration_key.get_secret_value(),
            "UserId": self._user_id,
            "Password": self._password.get_secret_value(),
        }
        response = await client.post(SESSION_PATH, json=body)
        if response.is_success:
            try:
                payload = response.json()
            except ValueError:
                raise PMSError("Eaglesoft session response is not JSON") from None
            return parse_session(payload, zone=self._zone, now_utc=self._wall_clock(), now_mono=self._clock())
        error = EAGLESOFT_ERRORS(response)
        if response.status_code in (400, 401, 403):
            # A refused login is a wrong key, user or password: permanent until someone fixes the registry.
            raise Unauthorized(
                f"Eaglesoft refused the session login -> HTTP {response.status_code}",
                http_status=response.status_code,
                vendor_code=error.vendor_code,
            )
        raise error

    def __repr__(self) -> str:
        return f"SessionLogin(user_id={self._user_id!r}, integration_key='**********', password='**********')"
