"""How to reach one practice's Dentrix (Ascend API): typed, frozen, validated when it is built."""

from __future__ import annotations

from pydantic import Field, SecretStr

from adapters.http.settings import HttpSettings

__all__ = ["DentrixConfig"]


class DentrixConfig(HttpSettings):
    """One practice's Ascend connection: the Apigee host (``base_url``) and the transport settings of
    :class:`HttpSettings`, plus Ascend's own. Unknown keys are errors; the secret prints as ``**********``."""

    organization_id: str = Field(pattern=r"^[0-9a-fA-F]{24}$", description="Sent as Organization-ID")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr

    # rate_per_second 10 (the default) stays below the ~15 req/s reported on the test host; the vendor's
    # limits are dynamic, so 429s still happen.
    page_size: int = Field(default=100, ge=1, le=100, description="Ascend caps pageSize at 100")
    # The dialect's guidance: refresh about five minutes before the token expires.
    token_refresh_margin_seconds: float = Field(default=300.0, ge=0)
