"""Open Dental's authorization: ``Authorization: ODFHIR {DeveloperKey}/{CustomerKey}`` on every request.

There is no token exchange: the developer key names the integrator, the customer key the office, and the pair
is the credential for as long as the office keeps the key enabled. :class:`OdfhirKeys` serves the pair
through the shared client's token seam (:class:`adapters.http.TokenCache`): it never expires, and a 401 is
final (a refused key pair stays refused until someone fixes the registry or the office re-enables the key), so
the request is not sent again with the same keys.
"""

from __future__ import annotations

import math

import httpx
from pydantic import SecretStr

from adapters.errors import Unauthorized
from adapters.http import Token, TokenCache

__all__ = ["SCHEME", "OdfhirKeys", "odfhir_auth"]

SCHEME = "ODFHIR"


def odfhir_auth(key_pair: str) -> dict[str, str]:
    """The client's ``auth_header`` for Open Dental (``key_pair`` is ``{DeveloperKey}/{CustomerKey}``)."""
    return {"Authorization": f"{SCHEME} {key_pair}"}


class _KeyPair:
    """A :class:`adapters.http.TokenSource` that makes no call: the key pair is the token."""

    def __init__(self, developer_key: SecretStr, customer_key: SecretStr) -> None:
        self._developer_key = developer_key
        self._customer_key = customer_key

    async def fetch(self, client: httpx.AsyncClient) -> Token:
        pair = f"{self._developer_key.get_secret_value()}/{self._customer_key.get_secret_value()}"
        return Token(value=pair, expires_at=math.inf)

    def __repr__(self) -> str:
        return "_KeyPair(developer_key='**********', customer_key='**********')"


class OdfhirKeys(TokenCache):
    """The key pair of one office, as the client's token cache: served for ever, never refreshed."""

    def __init__(self, developer_key: SecretStr, customer_key: SecretStr) -> None:
        super().__init__(_KeyPair(developer_key, customer_key), refresh_ahead=0.0)

    async def refresh(self, client: httpx.AsyncClient, *, stale: str | None) -> str:
        raise Unauthorized("Open Dental refused the developer or customer key -> HTTP 401", http_status=401)
