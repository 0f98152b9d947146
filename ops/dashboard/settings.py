"""The dashboard's configuration: typed, frozen, validated when ``pms-relay dashboard`` starts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ops.dashboard.levels import Thresholds

__all__ = ["DashboardSettings"]


class DashboardSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    bootstrap_servers: str = "localhost:9092"
    prefix: str = ""
    group: str = Field("pms-relay", description="the workers' consumer group (their --app-id)")
    zipkin_url: str | None = Field(None, description="Zipkin's base URL, for trace links")
    refresh_s: float = Field(5.0, gt=0, description="how often the page refreshes itself")
    lag_interval_s: float = Field(5.0, gt=0, description="how often group offsets are read")
    alert_limit: int = Field(50, ge=1)
    dead_letter_limit: int = Field(20, ge=1, description="newest dead letters read, per partition")
    failure_limit: int = Field(20, ge=1, description="recent failures shown across practices")
    thresholds: Thresholds = Thresholds()

    @property
    def status_topic(self) -> str:
        return f"{self.prefix}pms.status"

    def trace_url(self, trace_id: str | None) -> str | None:
        if not trace_id or not self.zipkin_url:
            return None
        return f"{self.zipkin_url.rstrip('/')}/zipkin/traces/{trace_id}"

    def redrive_command(self, command_id: str) -> str:
        prefix = f" --prefix {self.prefix}" if self.prefix else ""
        return (
            f"pms-relay dlq redrive --command-id {command_id} "
            f"--bootstrap-servers {self.bootstrap_servers}{prefix}"
        )
