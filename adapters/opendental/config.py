"""How to reach one Open Dental office: typed, frozen, validated when it is built."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator

from adapters.http.settings import HttpSettings

__all__ = ["OpenDentalConfig"]


class OpenDentalConfig(HttpSettings):
    """One office's Open Dental API: the endpoint (``base_url``: the Remote API at Open Dental HQ, or the
    office's API Service) and the transport settings of :class:`HttpSettings`, plus Open Dental's own.
    Unknown keys are errors; both keys are secrets (given by reference in the registry, printed as ``***``).

    A customer key names one office (one database); its clinics are the locations. An office that does not
    use clinics has none, and is one location, ``"0"`` (Open Dental's "no clinic"), named ``office_name``.
    """

    developer_key: SecretStr
    customer_key: SecretStr
    # Open Dental stores office-local naive times: these zones turn them into instants (see times.py).
    time_zone: str = Field(description="The office's IANA time zone, e.g. America/New_York")
    clinic_time_zones: dict[str, str] = Field(
        default_factory=dict, description="ClinicNum -> IANA zone, for clinics not in time_zone"
    )
    office_name: str = Field(default="Main office", min_length=1, description="The location without clinics")

    # The API serves about one request per second per key (one per five seconds for read-only keys).
    rate_per_second: float = Field(default=1.0, gt=0)
    page_size: int = Field(default=100, ge=1, le=100, description="Open Dental caps Limit at 100")
    # find_by_reference reads the records changed this recently (DateTStamp): a write to reconcile is recent.
    reference_lookback_hours: float = Field(default=168.0, gt=0)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _zone_name(value)

    @field_validator("clinic_time_zones")
    @classmethod
    def _known_zones(cls, value: dict[str, str]) -> dict[str, str]:
        return {clinic: _zone_name(zone) for clinic, zone in value.items()}

    def zone_of(self, location_id: str) -> str:
        """The IANA zone of a clinic (or of the office, for ``"0"`` and unlisted clinics)."""
        return self.clinic_time_zones.get(location_id, self.time_zone)


def _zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r}") from None
    return value
