from __future__ import annotations

import pytest
from pydantic import ValidationError

from streams.topics import ExistingTopic, TopicSettings, TopicSpec, diff_topic, parse_retention, topic_specs

DAY = 86_400_000
SPEC = TopicSpec("pms.commands", 6, {"retention.ms": str(30 * DAY), "cleanup.policy": "delete"})
SAME_CONFIG = {"retention.ms": str(30 * DAY), "cleanup.policy": "delete", "segment.ms": "604800000"}


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        pytest.param(ExistingTopic("pms.commands", 6, SAME_CONFIG), [], id="match-ignores-unowned-keys"),
        pytest.param(
            ExistingTopic("pms.commands", 3, SAME_CONFIG),
            ["partitions: want 6, have 3"],
            id="fewer-partitions",
        ),
        pytest.param(
            ExistingTopic("pms.commands", 12, SAME_CONFIG),
            ["partitions: want 6, have 12"],
            id="more-partitions",
        ),
        pytest.param(
            ExistingTopic("pms.commands", 6, {**SAME_CONFIG, "retention.ms": "604800000"}),
            [f"retention.ms: want {30 * DAY}, have 604800000"],
            id="shorter-retention",
        ),
        pytest.param(
            ExistingTopic("pms.commands", 6, {"retention.ms": str(30 * DAY)}),
            ["cleanup.policy: want delete, have unset"],
            id="missing-key",
        ),
        pytest.param(
            ExistingTopic("pms.commands", 1, {"retention.ms": "-1", "cleanup.policy": "compact"}),
            [
                "partitions: want 6, have 1",
                "cleanup.policy: want delete, have compact",
                f"retention.ms: want {30 * DAY}, have -1",
            ],
            id="everything-differs",
        ),
    ],
)
def test_diff_topic(existing: ExistingTopic, expected: list[str]) -> None:
    assert diff_topic(SPEC, existing) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", 30 * DAY),
        ("720h", 30 * DAY),
        ("90m", 90 * 60_000),
        ("45s", 45_000),
        ("1w", 7 * DAY),
        ("1500", 1500),
        ("1500ms", 1500),
        (" 2d ", 2 * DAY),
        ("unlimited", -1),
        ("UNLIMITED", -1),
        ("-1", -1),
        (-1, -1),
        (604800000, 604800000),
    ],
)
def test_parse_retention(text: str | int, expected: int) -> None:
    assert parse_retention(text) == expected


@pytest.mark.parametrize("text", ["", "0", "0d", "5x", "d", "-5", "1.5d", -2, 0])
def test_parse_retention_rejects(text: str | int) -> None:
    with pytest.raises(ValueError, match="retention"):
        parse_retention(text)


def test_default_specs_are_the_contract_topics() -> None:
    specs = topic_specs(TopicSettings())
    assert [(s.name, s.partitions) for s in specs] == [
        ("pms.commands", 6),
        ("pms.results", 6),
        ("pms.errors", 6),
        ("pms.commands.retry.10s", 6),
        ("pms.commands.retry.1m", 6),
        ("pms.commands.retry.10m", 6),
        ("pms.commands.dlt", 6),
        ("pms.alerts", 6),
        ("pms.status", 3),
        ("pms.alert-notices", 1),
        ("pms-relay-inbox-changelog", 6),
        ("pms-relay-subjects-changelog", 6),
        ("pms-relay-circuits-changelog", 6),
    ]
    compacted = [
        s for s in specs if s.name.endswith("-changelog") or s.name in ("pms.status", "pms.alert-notices")
    ]
    kept = [s for s in specs if s not in compacted]
    assert {s.config["retention.ms"] for s in kept} == {str(30 * DAY)}
    assert {s.config["cleanup.policy"] for s in compacted} == {"compact"}


def test_specs_follow_settings() -> None:
    settings = TopicSettings.model_validate(
        {"prefix": "staging.", "command_partitions": 12, "retention_ms": "unlimited", "replication_factor": 3}
    )
    specs = {s.name: s for s in topic_specs(settings) if s.config.get("cleanup.policy") == "delete"}
    assert {"staging.pms.commands", "staging.pms.results", "staging.pms.errors"} <= set(specs)
    assert specs["staging.pms.commands"].partitions == 12
    assert specs["staging.pms.commands.retry.10s"].partitions == 12  # co-partitioned with commands
    assert specs["staging.pms.results"].partitions == 6
    assert all(s.config["retention.ms"] == "-1" and s.replication_factor == 3 for s in specs.values())


@pytest.mark.parametrize(
    "bad",
    [
        {"command_partitions": 0},
        {"retention_ms": "soon"},
        {"replication_factor": 0},
        {"unknown_key": 1},
    ],
)
def test_settings_reject_bad_values(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TopicSettings.model_validate(bad)


def test_settings_are_frozen() -> None:
    settings = TopicSettings()
    with pytest.raises(ValidationError):
        settings.prefix = "x"  # type: ignore[misc]
