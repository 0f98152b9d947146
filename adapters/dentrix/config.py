"""How to reach one practice's Dentrix (Ascend API): typed, frozen, validated when it is built."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["DentrixConfig"]


class DentrixConfig(BaseModel):
    """One practice's Ascend connection. Unknown keys are errors; the secret prints as ``**********``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(min_length=1, description="Apigee host, e.g. https://api.dentrix.example")
    organization_id: str = Field(pattern=r"^[0-9a-fA-F]{24}$", description="Sent as Organization-ID")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr

    # Below the ~15 req/s reported on the test host; the vendor's limits are dynamic, so 429s still happen.
    rate_per_second: float = Field(default=10.0, gt=0)
    max_concurrent: int = Field(default=4, ge=1)
    # Locations and operatories change a few times a year; patient data is never cached.
    static_cache_ttl_seconds: float = Field(default=3600.0, ge=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    read_timeout_seconds: float = Field(default=15.0, gt=0)
    page_size: int = Field(default=100, ge=1, le=100, description="Ascend caps pageSize at 100")
    # The dialect's guidance: refresh about five minutes before the token expires.
    token_refresh_margin_seconds: float = Field(default=300.0, ge=0)
    max_attempts: int = Field(default=3, ge=1, description="In-call tries for retryable failures")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http(s) URL")
        return value.rstrip("/")
