"""The alerting service's configuration: one YAML file, typed and frozen, validated when it starts.

Unknown keys are errors (a misspelt threshold must not silently keep its default); secrets (an HMAC secret,
a Slack webhook URL, a PagerDuty routing key) are ``SecretStr`` and print as ``***``. Thresholds have the
defaults of README "Alerts" and are overridden per PMS kind, then per practice (the practice wins).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

__all__ = [
    "AlertSettings",
    "AlertSettingsError",
    "Condition",
    "Delivery",
    "Grouping",
    "Severity",
    "Silence",
    "Sink",
    "Thresholds",
    "load_settings",
]


class Condition(StrEnum):
    """Every condition the service evaluates; the names are shared with deploy/prometheus's rules."""

    CIRCUIT_OPEN = "circuit_open"
    CREDENTIALS_REJECTED = "credentials_rejected"
    NO_SUCCESS = "no_success"
    ERROR_RATE = "error_rate"
    DEAD_LETTERS = "dead_letters"
    COMMANDS_LAG = "commands_lag"
    RETRY_OVERDUE = "retry_overdue"
    PLATFORM_DEGRADED = "platform_degraded"
    TEST = "test"  # only `pms-relay alerts test` sends it: no rule evaluates it


class Severity(StrEnum):
    """PagerDuty's names (Events v2 ``payload.severity``); the other sinks carry them as a label."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


DEFAULT_SEVERITIES: Mapping[Condition, Severity] = {
    Condition.CIRCUIT_OPEN: Severity.CRITICAL,
    Condition.CREDENTIALS_REJECTED: Severity.CRITICAL,
    Condition.NO_SUCCESS: Severity.CRITICAL,
    Condition.ERROR_RATE: Severity.WARNING,
    Condition.DEAD_LETTERS: Severity.WARNING,
    Condition.COMMANDS_LAG: Severity.CRITICAL,
    Condition.RETRY_OVERDUE: Severity.WARNING,
    Condition.PLATFORM_DEGRADED: Severity.CRITICAL,
    Condition.TEST: Severity.INFO,
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Thresholds(_Frozen):
    """When each condition holds. Durations in seconds, so tests can use small ones."""

    circuit_open_s: float = Field(300.0, gt=0, description="circuit open (or half-open) since, unbroken")
    no_success_s: float = Field(900.0, gt=0, description="no successful PMS call while commands fail")
    error_rate: float = Field(0.2, ge=0, le=1, description="errors / finished over the 5-minute window")
    error_rate_min_finished: int = Field(20, ge=1, description="fewer finished commands are no trend")
    dead_letters_window_s: float = Field(600.0, gt=0, description="a dead letter this recent fires")
    commands_lag_records: int = Field(1000, ge=1, description="records behind on pms.commands")
    commands_lag_s: float = Field(120.0, gt=0, description="age of the oldest unconsumed command")
    retry_overdue_factor: float = Field(1.0, gt=0, description="overdue by more than this x the tier's delay")
    platform_min_practices: int = Field(10, ge=1, description="practices alerting at once, at least ...")
    platform_share: float = Field(0.25, gt=0, le=1, description="... and this share of known practices")


# The same fields, each optional: what a per-PMS or per-practice override may set.
ThresholdOverride: Any = create_model(  # type: ignore[call-overload]
    "ThresholdOverride",
    __config__=ConfigDict(frozen=True, extra="forbid"),
    **{name: (field.annotation | None, None) for name, field in Thresholds.model_fields.items()},  # type: ignore[operator]
)


class _Sink(_Frozen):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    timeout_s: float = Field(10.0, gt=0)


class WebhookSink(_Sink):
    """JSON POST; with ``secret``, signed: ``X-PMS-Relay-Signature: t=<unix>,v1=<hex HMAC-SHA256>``."""

    kind: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    secret: SecretStr | None = None
    # A header name, not a value: e.g. a receiver that wants its own name for the signature.
    signature_header: str = "X-PMS-Relay-Signature"


class SlackSink(_Sink):
    kind: Literal["slack"]
    url: SecretStr = Field(description="the incoming webhook's URL: its path is the credential")


class PagerDutySink(_Sink):
    kind: Literal["pagerduty"]
    routing_key: SecretStr
    url: str = Field("https://events.pagerduty.com/v2/enqueue", pattern=r"^https?://")


class AlertmanagerSink(_Sink):
    """Alertmanager's webhook format (version 4), for a receiver that routes like Alertmanager does."""

    kind: Literal["alertmanager"]
    url: str = Field(pattern=r"^https?://")


Sink = Annotated[WebhookSink | SlackSink | PagerDutySink | AlertmanagerSink, Field(discriminator="kind")]


class Grouping(_Frozen):
    """Alertmanager's meaning: a new group waits ``wait_s`` to collect its alerts, then changes to it are
    sent at most every ``interval_s``; a firing alert is sent again every ``repeat_interval_s``."""

    by: tuple[Literal["condition", "practice_id", "pms", "severity"], ...] = ("condition",)
    wait_s: float = Field(30.0, ge=0)
    interval_s: float = Field(300.0, ge=0)
    repeat_interval_s: float = Field(4 * 3600.0, gt=0)


class Silence(_Frozen):
    """A practice's maintenance window: its alerts are held (neither fired nor resolved) from start to end."""

    practice_id: str = Field(min_length=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: str = Field("", max_length=200, description="for the operator; never sent")

    @model_validator(mode="after")
    def _ordered(self) -> Silence:
        if self.ends_at <= self.starts_at:
            raise ValueError(f"silence of {self.practice_id}: ends_at must be after starts_at")
        return self

    def covers(self, practice_id: str | None, now: datetime) -> bool:
        return practice_id == self.practice_id and self.starts_at <= now < self.ends_at


class Delivery(_Frozen):
    """Retries per notification and sink: exponential backoff from ``initial_s`` up to ``max_s`` between
    ``attempts`` tries. 429 and 5xx and lost connections are retried; any other 4xx is not."""

    attempts: int = Field(6, ge=1)
    initial_s: float = Field(0.5, ge=0)
    max_s: float = Field(30.0, ge=0)
    queue: int = Field(1000, ge=1, description="notifications waiting per sink before new ones are dropped")


class AlertSettings(_Frozen):
    thresholds: Thresholds = Thresholds()
    by_pms: dict[str, ThresholdOverride] = Field(default_factory=dict)
    by_practice: dict[str, ThresholdOverride] = Field(default_factory=dict)
    severities: dict[Condition, Severity] = Field(default_factory=dict, description="over the defaults")
    disabled: frozenset[Condition] = frozenset()
    sinks: tuple[Sink, ...] = ()
    grouping: Grouping = Grouping()
    delivery: Delivery = Delivery()
    silences: tuple[Silence, ...] = ()
    evaluate_interval_s: float = Field(10.0, gt=0, description="how often the leader evaluates")
    status_interval_s: float = Field(5.0, gt=0, description="the workers' --status-interval")
    dashboard_url: str | None = Field(None, description="linked from every alert")
    zipkin_url: str | None = Field(None, description="Zipkin's base URL, for trace links")

    @model_validator(mode="after")
    def _unique_sinks(self) -> AlertSettings:
        names = [sink.name for sink in self.sinks]
        if len(names) != len(set(names)):
            raise ValueError(f"sinks: names must be unique, got {names}")
        return self

    def severity(self, condition: Condition) -> Severity:
        return self.severities.get(condition, DEFAULT_SEVERITIES[condition])

    @field_validator("by_pms", mode="before")
    @classmethod
    def _pms_names(cls, value: Any) -> Any:
        """``EAGLESOFT`` and ``eaglesoft`` both name Eaglesoft (the status record says the former)."""
        return {str(k).lower(): v for k, v in value.items()} if isinstance(value, Mapping) else value

    def thresholds_for(self, practice_id: str | None = None, pms: str | None = None) -> Thresholds:
        """The base thresholds, then the PMS kind's overrides, then the practice's."""
        changes: dict[str, Any] = {}
        for override in (self.by_pms.get((pms or "").lower()), self.by_practice.get(practice_id or "")):
            if override is not None:
                changes |= override.model_dump(exclude_none=True)
        return self.thresholds.model_copy(update=changes) if changes else self.thresholds

    def silenced(self, practice_id: str | None, now: datetime) -> bool:
        return any(silence.covers(practice_id, now) for silence in self.silences)

    def sink(self, name: str) -> WebhookSink | SlackSink | PagerDutySink | AlertmanagerSink:
        for sink in self.sinks:
            if sink.name == name:
                return sink
        raise AlertSettingsError(f"no sink named {name!r} (sinks: {', '.join(s.name for s in self.sinks)})")

    def trace_url(self, trace_id: str | None) -> str | None:
        if not trace_id or not self.zipkin_url:
            return None
        return f"{self.zipkin_url.rstrip('/')}/zipkin/traces/{trace_id}"


class AlertSettingsError(ValueError):
    """The file cannot be used; the message names the setting to fix (and never a secret's value)."""


def load_settings(path: Path, **overrides: Any) -> AlertSettings:
    """The settings in ``path`` (YAML), with ``overrides`` (e.g. the CLI's ``--dashboard-url``) on top."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise AlertSettingsError(f"{path}: cannot read it ({type(exc).__name__})") from exc
    except yaml.YAMLError as exc:
        raise AlertSettingsError(f"{path}: not YAML ({exc})") from exc
    if not isinstance(document, dict):
        raise AlertSettingsError(f"{path}: want a mapping of settings at the top")
    document |= {key: value for key, value in overrides.items() if value is not None}
    try:
        return AlertSettings.model_validate(document)
    except ValidationError as exc:
        raise AlertSettingsError(f"{path}: {_describe(exc)}") from None  # the input may hold a secret


def _describe(exc: ValidationError) -> str:
    """Each problem as ``where: what``, without the input value (a secret, or a URL with a token)."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"])
        lines.append(f"{where or '(top)'}: {error['msg']}")
    return "; ".join(lines)
