"""The transport settings every HTTP adapter takes: where the PMS is, how hard to push it, how long to wait.

A vendor's connection config subclasses :class:`HttpSettings`, adds its own fields (credentials, ids) and may
narrow these (Ascend caps ``page_size`` at 100). Typed, frozen, unknown keys are errors.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["HttpSettings"]


class HttpSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(min_length=1, description="The PMS endpoint, e.g. https://api.pms.example")
    rate_per_second: float = Field(default=10.0, gt=0)
    max_concurrent: int = Field(default=4, ge=1)
    # Locations and operatories change a few times a year; patient data is never cached.
    static_cache_ttl_seconds: float = Field(default=3600.0, ge=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    read_timeout_seconds: float = Field(default=15.0, gt=0)
    page_size: int = Field(default=100, ge=1)
    max_attempts: int = Field(default=3, ge=1, description="In-call tries for retryable failures")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http(s) URL")
        return value.rstrip("/")
