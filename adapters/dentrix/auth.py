"""Ascend's OAuth2 client-credentials grant, as a :class:`adapters.http.TokenSource`.

``POST {base}/oauth/client_credential/accesstoken?grant_type=client_credentials`` with a form body; Apigee
answers ``{"access_token": "…", "expires_in": "3599"}`` where ``expires_in`` is a *string*. When to refresh
(about five minutes ahead) is the :class:`adapters.http.TokenCache`'s job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from adapters.dentrix.errors import ASCEND_ERRORS
from adapters.errors import PMSError, Unauthorized
from adapters.http import Token

__all__ = ["TOKEN_PATH", "AscendTokenSource", "parse_token"]

TOKEN_PATH = "/oauth/client_credential/accesstoken"


def parse_token(body: Any, *, now: float) -> Token:
    """The token of an Apigee token response, expiring ``expires_in`` seconds after ``now`` (monotonic)."""
    if not isinstance(body, dict):
        raise PMSError("Dentrix token response is not a JSON object")
    value = body.get("access_token")
    if not isinstance(value, str) or not value:
        raise PMSError("Dentrix token response has no access_token")
    try:
        expires_in = float(body.get("expires_in", ""))
    except (TypeError, ValueError):
        raise PMSError("Dentrix token response has no numeric expires_in") from None
    return Token(value=value, expires_at=now + max(0.0, expires_in))


class AscendTokenSource:
    """Fetches tokens for one client id; the client's base URL is the Apigee host."""

    def __init__(
        self, client_id: str, client_secret: SecretStr, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock

    async def fetch(self, client: httpx.AsyncClient) -> Token:
        response = await client.post(
            TOKEN_PATH,
            params={"grant_type": "client_credentials"},
            data={"client_id": self._client_id, "client_secret": self._client_secret.get_secret_value()},
        )
        if response.is_success:
            try:
                return parse_token(response.json(), now=self._clock())
            except ValueError:
                raise PMSError("Dentrix token response is not JSON") from None
        error = ASCEND_ERRORS(response)
        if response.status_code in (400, 401, 403):
            # Apigee answers a bad client id or secret with 400/401: the credentials are wrong, permanently.
            raise Unauthorized(
                f"Dentrix refused the client credentials -> HTTP {response.status_code}",
                http_status=response.status_code,
                vendor_code=error.vendor_code,
            )
        raise error

    def __repr__(self) -> str:
        return f"AscendTokenSource(client_id={self._client_id!r}, client_secret='**********')"
