"""The worker prepares its topics: missing ones created, an existing layout adopted, a broken one refused."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

pytestmark = pytest.mark.integration


def _worker(bootstrap: str, registry: Path, prefix: str, app_id: str, *extra: str) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "cli", "worker", "--config", str(registry), "--bootstrap-servers", bootstrap,
            "--prefix", prefix, "--app-id", app_id, *extra]  # fmt: skip
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "practices.yaml"
    path.write_text("practices: {}\n", encoding="utf-8")
    return path


def test_a_changelog_with_another_partition_count_stops_the_worker_before_it_consumes(
    kafka_bootstrap: str, kafka_admin: AdminClient, registry: Path
) -> None:
    prefix, app_id = f"wt{uuid.uuid4().hex[:6]}.", f"wt-{uuid.uuid4().hex[:6]}"
    futures = kafka_admin.create_topics(
        [NewTopic(f"{prefix}pms.commands", 3, 1), NewTopic(f"{app_id}-inbox-changelog", 2, 1)]
    )
    for future in futures.values():
        future.result(30)

    worker = _worker(kafka_bootstrap, registry, prefix, app_id)
    output, _ = worker.communicate(timeout=60)

    assert worker.returncode == 2, output
    assert f"{app_id}-inbox-changelog must have the partition count of {prefix}pms.commands" in output
    assert "partitions: want 3, have 2" in output


def test_an_explicit_partition_count_that_contradicts_the_topic_is_refused(
    kafka_bootstrap: str, kafka_admin: AdminClient, registry: Path
) -> None:
    prefix, app_id = f"wt{uuid.uuid4().hex[:6]}.", f"wt-{uuid.uuid4().hex[:6]}"
    kafka_admin.create_topics([NewTopic(f"{prefix}pms.commands", 3, 1)])[f"{prefix}pms.commands"].result(30)

    worker = _worker(kafka_bootstrap, registry, prefix, app_id, "--partitions", "4")
    output, _ = worker.communicate(timeout=60)

    assert worker.returncode == 2, output
    assert "has 3 partitions, not the 4 asked for" in output


def test_an_unreachable_cluster_is_a_clear_error(registry: Path) -> None:
    worker = _worker("127.0.0.1:1", registry, "x.", "x", "--partitions", "1", "--connect-timeout", "2")
    output, _ = worker.communicate(timeout=90)
    assert worker.returncode == 2, output
    assert (
        "no answer from Kafka at KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1 within 2s" in output
    )  # names the setting
