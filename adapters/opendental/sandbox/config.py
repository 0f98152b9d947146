"""Start-up settings of the Open Dental sandbox: typed, frozen, unknown keys rejected."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from adapters.opendental.sandbox.seed import DEFAULT_VERSION
from adapters.sandbox.faults import FaultRule

__all__ = ["SandboxConfig"]


class SandboxConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 42
    # The seeded schedule is built around this day: today by default, so this week has appointments; pass a
    # fixed date for a reproducible run.
    anchor: date = Field(default_factory=date.today)
    version: str = DEFAULT_VERSION  # the ProgramVersion preference
    developer_key: str = "od-sandbox-developer-key"
    rate_per_second: float = Field(default=1.0, ge=0, description="Per customer key; 0: unthrottled")
    gateway_timeout_s: float = Field(default=60.0, gt=0)
    credential_ttl_s: float = Field(default=6 * 3600.0, gt=0)
    faults: tuple[FaultRule, ...] = ()
    fault_seed: int | None = None  # defaults to ``seed``
