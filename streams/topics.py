"""The Kafka topics of the contract: what they should be (:class:`TopicSpec`), how an existing topic differs
(:func:`diff_topic`, pure), and creating them idempotently (:func:`ensure_topics`).

The project never relies on broker auto-creation: every topic is created here with an explicit partition
count and a retention long enough to replay for an audit. Adding a topic (retry tiers, dead letters,
alerts) means adding a row to ``_CONTRACT`` or a spec in :func:`topic_specs`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from confluent_kafka import KafkaError, KafkaException

# confluent_kafka.admin re-exports these without __all__, which mypy --strict treats as private.
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # type: ignore[attr-defined]
from pydantic import BaseModel, ConfigDict, Field, field_validator

from streams.retry import RetryTiers

__all__ = [
    "TABLES",
    "ExistingTopic",
    "Outcome",
    "TopicNames",
    "TopicOutcome",
    "TopicSettings",
    "TopicSpec",
    "diff_topic",
    "ensure_topics",
    "min_insync_replicas",
    "parse_retention",
    "topic_specs",
]

UNLIMITED = -1
_DAY_MS = 24 * 3600 * 1000
_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": _DAY_MS, "w": 7 * _DAY_MS}
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d|w)?\s*$")

# Tables of the worker (see topology.py): their changelogs are compacted and co-partitioned with pms.commands.
TABLES = ("inbox", "subjects", "circuits")

# Every worker rewrites its records every few seconds: roll segments often so compaction keeps the topic (and
# a dashboard's read from the start) to about one record per key.
_STATUS_SEGMENTS = {"segment.ms": "600000", "min.cleanable.dirty.ratio": "0.1"}


@dataclass(frozen=True)
class TopicNames:
    """Every topic name of the contract, under one prefix; retry tiers are named after their delay."""

    prefix: str = ""
    tiers: RetryTiers = field(default_factory=RetryTiers)

    @property
    def commands(self) -> str:
        return f"{self.prefix}pms.commands"

    @property
    def results(self) -> str:
        return f"{self.prefix}pms.results"

    @property
    def errors(self) -> str:
        return f"{self.prefix}pms.errors"

    @property
    def retries(self) -> tuple[str, ...]:
        return tuple(f"{self.commands}.retry.{_duration(d)}" for d in self.tiers.delays)

    @property
    def dead_letters(self) -> str:
        return f"{self.commands}.dlt"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}pms.alerts"

    @property
    def status(self) -> str:
        """Compacted: the latest status of each worker and practice (``streams/status.py``)."""
        return f"{self.prefix}pms.status"

    @property
    def alert_notices(self) -> str:
        """Compacted, one partition: what the alerting service sent, by dedup key (``ops/alerts/notices.py``)."""
        return f"{self.prefix}pms.alert-notices"

    def changelog(self, app_id: str, table: str) -> str:
        """Faust's name for a table's changelog topic (the prefix is not applied: Faust owns the name)."""
        return f"{app_id}-{table}-changelog"


def _duration(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{int(seconds)}s" if seconds == int(seconds) else f"{int(seconds * 1000)}ms"


def parse_retention(text: str | int) -> int:
    """Retention as ``retention.ms``: ``"30d"``, ``"720h"``, ``"90m"``, ``"1w"``, plain milliseconds, or
    ``"unlimited"``/``"-1"`` for keep-forever (``-1``)."""
    if isinstance(text, int):
        value = text
    elif text.strip().lower() in ("unlimited", "infinite", "forever", "-1"):
        return UNLIMITED
    elif match := _DURATION.match(text):
        value = int(match.group(1)) * _UNITS_MS[match.group(2) or "ms"]
    else:
        raise ValueError(f"retention {text!r}: use e.g. 30d, 720h, 90m, milliseconds, or 'unlimited'")
    if value == UNLIMITED:
        return UNLIMITED
    if value <= 0:
        raise ValueError(f"retention must be positive or 'unlimited', got {text!r}")
    return value


class TopicSettings(BaseModel):
    """How the contract's topics are laid out on a cluster."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prefix: str = Field("", description="prepended to every name, e.g. 'staging.' -> 'staging.pms.commands'")
    command_partitions: int = Field(6, ge=1)
    result_partitions: int = Field(6, ge=1)
    error_partitions: int = Field(6, ge=1)
    retention_ms: int = Field(30 * _DAY_MS, description="-1 keeps records forever")
    replication_factor: int = Field(-1, description="-1: the broker's default.replication.factor")
    retry_delays: tuple[float, ...] = Field((10.0, 60.0, 600.0), description="one retry topic per delay (s)")
    app_id: str = Field("pms-relay", min_length=1, description="the worker's group id: names its changelogs")
    status_partitions: int = Field(3, ge=1, description="partitions of the compacted status topic")

    @property
    def names(self) -> TopicNames:
        return TopicNames(prefix=self.prefix, tiers=RetryTiers(self.retry_delays))

    @field_validator("retention_ms", mode="before")
    @classmethod
    def _parse_retention(cls, value: str | int) -> int:
        return parse_retention(value)

    @field_validator("replication_factor")
    @classmethod
    def _check_replication(cls, value: int) -> int:
        if value == 0 or value < -1:
            raise ValueError("replication_factor must be >= 1, or -1 for the broker default")
        return value


@dataclass(frozen=True)
class TopicSpec:
    """A topic as the contract wants it. ``config`` lists only the settings we own and check."""

    name: str
    partitions: int
    config: Mapping[str, str] = field(default_factory=dict)
    replication_factor: int = -1


@dataclass(frozen=True)
class ExistingTopic:
    """A topic as the cluster has it: partition count and its (effective) config values."""

    name: str
    partitions: int
    config: Mapping[str, str] = field(default_factory=dict)


class Outcome(StrEnum):
    CREATED = "created"
    EXISTS = "exists"
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class TopicOutcome:
    spec: TopicSpec
    outcome: Outcome
    differences: tuple[str, ...] = ()


def min_insync_replicas(replication_factor: int) -> int | None:
    """How many in-sync copies an acks=all write needs (the producers all use acks=all): 2 from 3 replicas up,
    so a write is on two brokers and one broker may be down (a restart, a rolling upgrade) without refusing
    writes; 1 below that, where 2 would refuse every write while any broker is down. ``None`` for the
    broker's default replication (-1): its own ``min.insync.replicas`` then applies."""
    if replication_factor == -1:
        return None
    return 2 if replication_factor >= 3 else 1


def topic_specs(settings: TopicSettings) -> tuple[TopicSpec, ...]:
    """Every topic pms-relay uses under ``settings``: the contract's, the retry tiers, the dead letters, the
    alerts, the alerting service's notices, and the worker's table changelogs. Retry tiers and changelogs must have the partition count of
    pms.commands: a command's copies and its table entries live in the partition its practice hashes to."""
    names = settings.names
    durability = {}
    if (min_insync := min_insync_replicas(settings.replication_factor)) is not None:
        durability["min.insync.replicas"] = str(min_insync)
    kept = {"retention.ms": str(settings.retention_ms), "cleanup.policy": "delete", **durability}
    compacted = {"cleanup.policy": "compact", **durability}

    def spec(name: str, partitions: int, config: Mapping[str, str] = kept) -> TopicSpec:
        return TopicSpec(name, partitions, config, settings.replication_factor)

    commands = settings.command_partitions
    return (
        spec(names.commands, commands),
        spec(names.results, settings.result_partitions),
        spec(names.errors, settings.error_partitions),
        *(spec(name, commands) for name in names.retries),
        spec(names.dead_letters, commands),
        spec(names.alerts, settings.error_partitions),
        spec(names.status, settings.status_partitions, {**compacted, **_STATUS_SEGMENTS}),
        # One partition: its single assignee in the alerting service's group is the leader that sends.
        spec(names.alert_notices, 1, {**compacted, **_STATUS_SEGMENTS}),
        *(spec(names.changelog(settings.app_id, t), commands, compacted) for t in TABLES),
    )


def diff_topic(spec: TopicSpec, existing: ExistingTopic) -> list[str]:
    """How ``existing`` differs from ``spec``, one line per difference; empty when it matches. More
    partitions than wanted is a difference too: keyed ordering and co-partitioning depend on the count."""
    differences = []
    if existing.partitions != spec.partitions:
        differences.append(f"partitions: want {spec.partitions}, have {existing.partitions}")
    for key, want in sorted(spec.config.items()):
        have = existing.config.get(key)
        if have != want:
            differences.append(f"{key}: want {want}, have {have if have is not None else 'unset'}")
    return differences


def ensure_topics(
    admin: AdminClient, specs: Iterable[TopicSpec], timeout: float = 30.0
) -> list[TopicOutcome]:
    """Create the missing topics; compare the existing ones with their spec. Never alters an existing topic:
    a mismatch is reported for a human to decide (partition counts cannot shrink, retention is policy)."""
    specs = list(specs)
    present = set(admin.list_topics(timeout=timeout).topics)
    created = _create(admin, [spec for spec in specs if spec.name not in present], timeout)
    existing = _describe(admin, [spec for spec in specs if spec.name not in created], timeout)
    outcomes = []
    for spec in specs:
        if spec.name in created:
            outcomes.append(TopicOutcome(spec, Outcome.CREATED))
            continue
        differences = tuple(diff_topic(spec, existing[spec.name]))
        outcomes.append(TopicOutcome(spec, Outcome.MISMATCH if differences else Outcome.EXISTS, differences))
    return outcomes


def _create(admin: AdminClient, specs: list[TopicSpec], timeout: float) -> set[str]:
    """Names actually created by us; a topic another process created meanwhile is left to the diff."""
    if not specs:
        return set()
    new = [NewTopic(s.name, s.partitions, s.replication_factor, config=dict(s.config)) for s in specs]
    created = set()
    for name, future in admin.create_topics(new, operation_timeout=timeout, request_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            if _error_code(exc) != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
        else:
            created.add(name)
    return created


def _describe(admin: AdminClient, specs: list[TopicSpec], timeout: float) -> dict[str, ExistingTopic]:
    if not specs:
        return {}
    # A topic created a moment ago (by us or a concurrent caller) can be listed before every broker
    # serves its config: retry that case briefly instead of failing the whole command.
    deadline = time.monotonic() + timeout
    while True:
        try:
            return _describe_once(admin, specs, timeout)
        except KafkaException as exc:
            if _error_code(exc) != KafkaError.UNKNOWN_TOPIC_OR_PART or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _describe_once(admin: AdminClient, specs: list[TopicSpec], timeout: float) -> dict[str, ExistingTopic]:
    metadata = admin.list_topics(timeout=timeout).topics
    resources = [ConfigResource(ConfigResource.Type.TOPIC, spec.name) for spec in specs]
    described = {}
    for resource, future in admin.describe_configs(resources, request_timeout=timeout).items():
        entries = future.result(timeout)
        described[resource.name] = ExistingTopic(
            name=resource.name,
            partitions=len(metadata[resource.name].partitions),
            config={key: str(entry.value) for key, entry in entries.items()},
        )
    return described


def _error_code(exc: KafkaException) -> Any:
    error = exc.args[0] if exc.args else None
    return error.code() if isinstance(error, KafkaError) else None
