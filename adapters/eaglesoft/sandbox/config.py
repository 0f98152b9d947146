"""Start-up settings of the Eaglesoft sandbox: typed, frozen, unknown keys rejected."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.eaglesoft.sandbox.writes import WriteFaultRule
from adapters.sandbox.faults import FaultRule

__all__ = ["DEFAULT_VERSION", "SandboxConfig"]

DEFAULT_VERSION = "21.20.05"


class SandboxConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 42
    # The day the seeded schedule is built around: today by default, so that this week has appointments;
    # a fixed one (the seed's DEFAULT_ANCHOR) for a reproducible run.
    anchor: date = Field(default_factory=date.today)
    version: str = DEFAULT_VERSION
    integration_key: str = "es-sandbox-integration-key"
    user_id: str = "relay"
    password: str = "sandbox"
    session_ttl_s: float = Field(default=3600.0, gt=0)
    server_zone: str = "America/New_York"  # the zone of ``ExpiresAt``/``ServerTime``; the PMS knows no other
    write_delay_ms: tuple[float, float] = (50.0, 200.0)  # uniform, drawn from the seed
    faults: tuple[FaultRule, ...] = ()
    write_faults: tuple[WriteFaultRule, ...] = ()
    fault_seed: int | None = None  # defaults to ``seed``

    @field_validator("version")
    @classmethod
    def _dotted(cls, value: str) -> str:
        if not value.split(".")[0].isdigit():
            raise ValueError("version must start with a major number, e.g. 21.20.05")
        return value

    @field_validator("server_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @model_validator(mode="after")
    def _delays(self) -> SandboxConfig:
        low, high = self.write_delay_ms
        if not 0 <= low <= high:
            raise ValueError("write_delay_ms needs 0 <= min <= max")
        return self

    @property
    def major_version(self) -> int:
        return int(self.version.split(".")[0])
