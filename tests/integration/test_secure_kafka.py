"""pms-relay over a secure Kafka, for real: a local broker with a SASL_SSL listener (SCRAM-SHA-512, users
created at storage format) and an SSL listener that requires a client certificate, with TLS material made
for the test. Every process is configured only by the documented KAFKA_* variables.

- a worker relays a command sent with ``pms-relay send`` to the Dentrix sandbox and back, over SASL_SSL, and
  ``pms-relay audit`` reads it back and accounts for it, and ``pms-relay dashboard`` reads the cluster;
- ``topics create`` and ``dlq list`` work over SASL_SSL;
- a wrong password makes the worker, ``send``, ``topics create``, ``dlq list`` and ``audit`` exit at once with an error
  that names KAFKA_SASL_PASSWORD (the refusal, not the "no answer" of a timeout), and never prints it;
- an untrusted CA names KAFKA_SSL_CA_FILE; a missing client certificate names KAFKA_SSL_CERT_FILE;
- aiokafka, the worker's own library, connects with the settings' TLS context and credentials.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from aiokafka import AIOKafkaProducer
from confluent_kafka.admin import AdminClient

from deploy.local import LocalKafka, start_ephemeral
from deploy.local.ports import free_ports
from deploy.local.security import ScramUser
from streams.kafka_access import KafkaAccessError, check_access
from streams.kafka_settings import KafkaSettings
from streams.logs import WORKER_READY
from tests.contract.dentrix_harness import DentrixHarness
from tests.relay_system import wait_until

pytestmark = pytest.mark.integration

USER, PASSWORD, WRONG = "relay", "relay-Secret-1", "not-the-password"
# A refusal must end the command well before this: check_access would wait 15 s for a silent cluster.
BOUND = 60.0


@pytest.fixture(scope="module")
def broker() -> Iterator[LocalKafka]:
    kafka = start_ephemeral(users=(ScramUser(USER, PASSWORD),))
    yield kafka
    kafka.down(wipe=True)


@pytest.fixture(scope="module")
def dentrix() -> Iterator[DentrixHarness]:
    harness = DentrixHarness()
    harness.start()
    yield harness
    harness.stop()


def sasl_env(broker: LocalKafka, password: str = PASSWORD) -> dict[str, str]:
    assert broker.security is not None
    return {
        "KAFKA_BOOTSTRAP_SERVERS": broker.sasl_bootstrap_servers,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": USER,
        "KAFKA_SASL_PASSWORD": password,
        "KAFKA_SSL_CA_FILE": str(broker.security.tls.ca),
    }


def mtls_env(broker: LocalKafka, *, cert: bool) -> dict[str, str]:
    assert broker.security is not None
    tls = broker.security.tls
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": broker.mtls_bootstrap_servers,
        "KAFKA_SECURITY_PROTOCOL": "SSL",
        "KAFKA_SSL_CA_FILE": str(tls.ca),
    }
    if cert:
        env |= {"KAFKA_SSL_CERT_FILE": str(tls.client_cert), "KAFKA_SSL_KEY_FILE": str(tls.client_key)}
    return env


def process_env(kafka: dict[str, str], **more: str) -> dict[str, str]:
    """This process's environment with no KAFKA_* of its own, then ``kafka``: the variables alone decide."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    return {**base, "OTEL_TRACES_EXPORTER": "none", **kafka, **more}


def pms_relay(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=BOUND,
        check=False,
    )


def assert_refused(done: subprocess.CompletedProcess[str], setting: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert setting in output, output
    assert "no answer from Kafka" not in output, output  # refused at once, not timed out
    assert WRONG not in output
    assert PASSWORD not in output


# -- the CLI ---------------------------------------------------------------------------------------------------


def test_topics_create_and_dlq_list_over_sasl_ssl(broker: LocalKafka) -> None:
    prefix = f"sec{uuid.uuid4().hex[:6]}."
    env = process_env(sasl_env(broker))
    created = pms_relay("topics", "create", "--prefix", prefix, "--partitions", "2", env=env)
    assert created.returncode == 0, created.stdout + created.stderr
    admin = AdminClient(KafkaSettings.from_env(sasl_env(broker)).confluent())
    assert f"{prefix}pms.commands" in admin.list_topics(timeout=10).topics
    listed = pms_relay("dlq", "list", "--prefix", prefix, env=env)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "0 dead letters" in listed.stdout


@pytest.mark.parametrize(
    "command",
    [
        ("topics", "create", "--prefix", "refused."),
        ("dlq", "list"),
        ("send", "list-locations", "--practice", "dx", "--timeout", "20"),
        ("worker", "--config", "{registry}", "--prefix", "refused.", "--app-id", "refused"),
        ("audit", "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-02T00:00:00Z", "--out", "{out}"),
    ],
    ids=["topics", "dlq", "send", "worker", "audit"],
)
def test_a_wrong_password_is_refused_at_once_naming_the_setting(
    broker: LocalKafka, tmp_path: Path, command: tuple[str, ...]
) -> None:
    registry = tmp_path / "practices.yaml"
    registry.write_text("practices: {}\n", encoding="utf-8")
    args = [part.format(registry=registry, out=tmp_path / "audit") for part in command]
    started = time.monotonic()
    done = pms_relay(*args, env=process_env(sasl_env(broker, WRONG)))
    assert_refused(done, "KAFKA_SASL_PASSWORD")
    assert time.monotonic() - started < BOUND


# -- the worker and the platform client, end to end ------------------------------------------------------------


def test_a_worker_relays_a_command_over_sasl_ssl(
    broker: LocalKafka, dentrix: DentrixHarness, tmp_path: Path
) -> None:
    connection = dentrix.connection()
    secret_var = "SECURE_DX_CLIENT_SECRET"
    registry = tmp_path / "practices.yaml"
    practice = {
        "pms": "dentrix",
        "time_zone": dentrix.known.dst_location_zone,
        "connection": {**connection, "client_secret": {"env": secret_var}},
    }
    registry.write_text(yaml.safe_dump({"practices": {"dx": practice}}), encoding="utf-8")
    prefix, app_id = f"sec{uuid.uuid4().hex[:6]}.", f"secure-{uuid.uuid4().hex[:6]}"
    env = process_env(sasl_env(broker), **{secret_var: str(connection["client_secret"])})
    log_path = tmp_path / "worker.log"
    args = [sys.executable, "-m", "cli", "worker", "--config", str(registry), "--prefix", prefix,
            "--app-id", app_id, "--partitions", "2", "--retry-delays", "1,2"]  # fmt: skip
    with log_path.open("wb") as log:
        worker = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(
            lambda: WORKER_READY in log_path.read_text(errors="replace"), timeout=90, what="worker ready"
        )
        sent = pms_relay(
            "send", "list-locations", "--practice", "dx", "--prefix", prefix, "--json-output", env=env
        )
        assert sent.returncode == 0, sent.stdout + sent.stderr + log_path.read_text(errors="replace")[-3000:]
        assert '"command_type": "ListLocations"' in sent.stdout
        assert PASSWORD not in log_path.read_text(errors="replace")
        assert f"bootstrap={broker.sasl_bootstrap_servers} security=SASL_SSL" in log_path.read_text()
        # The audit tool reads the same topics back over SASL_SSL and accounts for the command.
        window = [(datetime.now(UTC) + timedelta(seconds=s)).isoformat() for s in (-600, 5)]
        audited = pms_relay("audit", "--from", window[0], "--to", window[1], "--horizon", "1m",
                            "--out", str(tmp_path / "audit"), "--prefix", prefix, env=env)  # fmt: skip
        assert audited.returncode == 0, audited.stdout + audited.stderr
        assert "1 / 1" in audited.stdout  # completeness: the one command, answered
        _dashboard_is_up(env, prefix, app_id, tmp_path)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def _dashboard_is_up(env: dict[str, str], prefix: str, app_id: str, tmp_path: Path) -> None:
    """The dashboard reads the cluster over SASL_SSL too: its /health turns UP (Kafka probed, the status topic
    read to its end) and its snapshot answers."""
    (port,) = free_ports("127.0.0.1", 1)
    args = [
        sys.executable,
        "-m",
        "cli",
        "dashboard",
        "--port",
        str(port),
        "--prefix",
        prefix,
        "--app-id",
        app_id,
    ]
    with (tmp_path / "dashboard.log").open("wb") as log:
        dashboard = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=60, what="the dashboard's /health UP over SASL_SSL")
        assert httpx.get(f"{url}/api/snapshot", timeout=5).status_code == 200
    finally:
        dashboard.terminate()
        dashboard.wait(timeout=30)
    assert PASSWORD not in (tmp_path / "dashboard.log").read_text(errors="replace")


# -- TLS -------------------------------------------------------------------------------------------------------


def test_an_untrusted_ca_names_the_ca_file(broker: LocalKafka) -> None:
    assert broker.security is not None
    env = sasl_env(broker) | {"KAFKA_SSL_CA_FILE": str(broker.security.tls.other_ca)}
    with pytest.raises(KafkaAccessError, match="KAFKA_SSL_CA_FILE") as refused:
        check_access(KafkaSettings.from_env(env))
    assert refused.value.setting == "KAFKA_SSL_CA_FILE"


def test_a_listener_that_requires_a_client_certificate(broker: LocalKafka) -> None:
    check_access(KafkaSettings.from_env(mtls_env(broker, cert=True)))
    with pytest.raises(KafkaAccessError, match="KAFKA_SSL_CERT_FILE") as refused:
        check_access(KafkaSettings.from_env(mtls_env(broker, cert=False)))
    assert refused.value.setting == "KAFKA_SSL_CERT_FILE"


@pytest.mark.parametrize("listener", ["sasl_ssl", "mtls"])
def test_aiokafka_connects_with_the_settings(broker: LocalKafka, listener: str) -> None:
    """The worker's library (under Faust) gets its TLS context and SCRAM credentials from the same settings."""
    env = sasl_env(broker) if listener == "sasl_ssl" else mtls_env(broker, cert=True)
    settings = KafkaSettings.from_env(env)

    async def metadata() -> set[int]:
        producer = AIOKafkaProducer(**settings.aiokafka(), request_timeout_ms=15_000)
        await producer.start()
        try:
            return {broker.nodeId for broker in producer.client.cluster.brokers()}
        finally:
            await producer.stop()

    assert asyncio.run(asyncio.wait_for(metadata(), 30)) == {1}
