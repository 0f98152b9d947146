"""How to reach one practice's Eaglesoft: typed, frozen, validated when it is built."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["EaglesoftConfig"]


class EaglesoftConfig(BaseModel):
    """One practice's Eaglesoft connection. Unknown keys are errors; secrets print as ``**********``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(min_length=1, description="The office server, e.g. https://es.office.example:9888")
    practice_id: str = Field(min_length=1, description="Sent as X-Practice-Id on every call")
    integration_key: SecretStr
    user_id: str = Field(min_length=1)
    password: SecretStr
    # Eaglesoft stores office-local naive times: this zone turns them into instants (see times.py).
    time_zone: str = Field(description="The office's IANA time zone, e.g. America/Chicago")
    # The zone of the office server's clock (session ExpiresAt); None: the practice's own zone.
    server_time_zone: str | None = None
    # Other practices of the same database, listed as locations: their zones, when not ``time_zone``.
    location_time_zones: dict[str, str] = Field(default_factory=dict)

    # An office server on the practice's LAN: modest rates, few connections.
    rate_per_second: float = Field(default=10.0, gt=0)
    max_concurrent: int = Field(default=4, ge=1)
    # Practices and chairs change a few times a year; patient data is never cached.
    static_cache_ttl_seconds: float = Field(default=3600.0, ge=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    read_timeout_seconds: float = Field(default=15.0, gt=0)
    page_size: int = Field(default=200, ge=1, le=200, description="The dialect's maximum is 200")
    # Session lifetimes come from the server; log in again this long before one expires.
    session_refresh_margin_seconds: float = Field(default=60.0, ge=0)
    max_attempts: int = Field(default=3, ge=1, description="In-call tries for retryable failures")
    # Polling of asynchronous writes (GET /writes/{id}); always bounded by the caller's deadline too.
    write_poll_initial_seconds: float = Field(default=0.05, gt=0)
    write_poll_max_seconds: float = Field(default=1.0, gt=0)
    write_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Longest wait for a write when the caller set no deadline"
    )
    # Writes need Eaglesoft 18 or newer.
    min_write_version: int = Field(default=18, ge=1)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _zone_name(value)

    @field_validator("server_time_zone")
    @classmethod
    def _known_server_zone(cls, value: str | None) -> str | None:
        return None if value is None else _zone_name(value)

    @field_validator("location_time_zones")
    @classmethod
    def _known_zones(cls, value: dict[str, str]) -> dict[str, str]:
        return {location: _zone_name(zone) for location, zone in value.items()}

    def zone_of(self, location_id: str) -> str:
        """The IANA zone of a practice of this database."""
        return self.location_time_zones.get(location_id, self.time_zone)


def _zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r}") from None
    return value
