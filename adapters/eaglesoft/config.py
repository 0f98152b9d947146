"""How to reach one practice's Eaglesoft: typed, frozen, validated when it is built."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator

from adapters.http.settings import HttpSettings

__all__ = ["EaglesoftConfig"]


class EaglesoftConfig(HttpSettings):
    """One practice's Eaglesoft connection: the office server (``base_url``) and the transport settings of
    :class:`HttpSettings`, plus Eaglesoft's own. Unknown keys are errors; secrets print as ``**********``."""

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

    # An office server on the practice's LAN: the default rate (10/s) and connections (4) stay modest.
    page_size: int = Field(default=200, ge=1, le=200, description="The dialect's maximum is 200")
    # Session lifetimes come from the server; log in again this long before one expires.
    session_refresh_margin_seconds: float = Field(default=60.0, ge=0)
    # Polling of asynchronous writes (GET /writes/{id}); always bounded by the caller's deadline too.
    write_poll_initial_seconds: float = Field(default=0.05, gt=0)
    write_poll_max_seconds: float = Field(default=1.0, gt=0)
    write_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Longest wait for a write when the caller set no deadline"
    )
    # Writes need Eaglesoft 18 or newer.
    min_write_version: int = Field(default=18, ge=1)

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
