"""Creating the contract's topics on a real broker: created, then idempotent, mismatches reported not fixed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient
from typer.testing import CliRunner

from cli import app
from streams.topics import Outcome, TopicSettings, ensure_topics, topic_specs

pytestmark = pytest.mark.integration


@pytest.fixture
def prefix(kafka_admin: AdminClient) -> Iterator[str]:
    """A unique name prefix, so the contract's topic names do not collide across tests or runs."""
    value = f"it{uuid.uuid4().hex[:8]}."
    yield value
    ours = [name for name in kafka_admin.list_topics(timeout=10).topics if name.startswith(value)]
    if ours:
        kafka_admin.delete_topics(ours)


def test_ensure_topics_creates_then_reports_exists_then_mismatch(
    kafka_admin: AdminClient, prefix: str
) -> None:
    wanted = TopicSettings(
        prefix=prefix, command_partitions=3, result_partitions=3, error_partitions=3, app_id=f"{prefix}app"
    )
    count = len(topic_specs(wanted))

    first = ensure_topics(kafka_admin, topic_specs(wanted))
    again = ensure_topics(kafka_admin, topic_specs(wanted))
    other = wanted.model_copy(update={"command_partitions": 4, "retention_ms": -1})
    drift = {o.spec.name: o for o in ensure_topics(kafka_admin, topic_specs(other))}

    assert [o.outcome for o in first] == [Outcome.CREATED] * count
    assert [o.outcome for o in again] == [Outcome.EXISTS] * count
    commands = drift[f"{prefix}pms.commands"]
    assert commands.outcome is Outcome.MISMATCH
    assert "partitions: want 4, have 3" in commands.differences
    assert any(d.startswith("retention.ms: want -1") for d in commands.differences)
    assert drift[f"{prefix}pms.results"].differences == (
        f"retention.ms: want -1, have {wanted.retention_ms}",
    )
    metadata = kafka_admin.list_topics(timeout=10).topics
    assert len(metadata[f"{prefix}pms.commands"].partitions) == 3  # reported, never altered


def test_cli_create_is_idempotent_and_fails_on_mismatch(kafka_bootstrap: str, prefix: str) -> None:
    runner = CliRunner()
    base = [
        "topics",
        "create",
        "--bootstrap-servers",
        kafka_bootstrap,
        "--prefix",
        prefix,
        "--app-id",
        f"{prefix}app",
        "--partitions",
        "2",
    ]

    created = runner.invoke(app, base)
    exists = runner.invoke(app, base)
    mismatch = runner.invoke(app, [*base[:-1], "3"])

    assert created.exit_code == 0, created.output
    assert created.output.count("created") == 13  # the contract's topics, status, alert notices, changelogs
    assert exists.exit_code == 0, exists.output
    assert exists.output.count("ok, exists") == 13
    assert mismatch.exit_code == 1, mismatch.output
    assert "MISMATCH" in mismatch.output
    assert "partitions: want 3, have 2" in mismatch.output
