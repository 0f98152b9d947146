"""``pms-relay worker``: what the flags become (WorkerSettings, the Faust worker), with Kafka and Faust faked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faust
import pytest
from typer.testing import CliRunner

import streams.logs
import streams.tracing
import topology
from cli import worker as worker_cli
from topology import WorkerSettings

runner = CliRunner()


@dataclass
class Started:
    """What the command handed on: the settings it built and the Faust worker it ran."""

    settings: list[WorkerSettings] = field(default_factory=list)
    workers: list[FakeFaustWorker] = field(default_factory=list)
    log_levels: list[str] = field(default_factory=list)


class FakeFaustWorker:
    def __init__(self, started: Started, app: object, **kwargs: Any) -> None:
        self.app, self.kwargs, self.spinner, self.executed = app, kwargs, object(), False
        started.workers.append(self)

    def execute_from_commandline(self) -> None:
        self.executed = True


@dataclass
class FakeTopology:
    app: object


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Started:
    record = Started()

    def build(settings: WorkerSettings, registry: object, **_wiring: object) -> FakeTopology:
        record.settings.append(settings)
        return FakeTopology(app=object())

    monkeypatch.setattr(topology, "build", build)
    monkeypatch.setattr(worker_cli, "_prepare_topics", lambda *args: 3)
    monkeypatch.setattr(faust, "Worker", lambda app, **kwargs: FakeFaustWorker(record, app, **kwargs))
    # Both change process-wide state (the root logger, the tracer provider): recorded, not run.
    monkeypatch.setattr(streams.logs, "configure_logging", record.log_levels.append)
    monkeypatch.setattr(streams.tracing, "configure_tracing", lambda: None)
    monkeypatch.delenv("PMS_RELAY_WEB_HOST", raising=False)
    return record


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "practices.yaml"
    path.write_text("practices: {}\n", encoding="utf-8")
    return path


def run(registry: Path, *args: str, env: dict[str, str] | None = None) -> None:
    result = runner.invoke(worker_cli.app, ["--config", str(registry), *args], env=env)
    assert result.exit_code == 0, result.output


def test_the_web_pages_listen_on_loopback_by_default(started: Started, registry: Path) -> None:
    run(registry, "--web-port", "6066")
    (settings,) = started.settings
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 6066)


@pytest.mark.parametrize(
    ("args", "env", "host"),
    [
        (["--web-host", "0.0.0.0"], None, "0.0.0.0"),
        ([], {"PMS_RELAY_WEB_HOST": "10.1.2.3"}, "10.1.2.3"),
        (["--web-host", "::1"], {"PMS_RELAY_WEB_HOST": "10.1.2.3"}, "::1"),  # the flag wins
    ],
)
def test_the_web_host_comes_from_the_flag_or_the_environment(
    started: Started, registry: Path, args: list[str], env: dict[str, str] | None, host: str
) -> None:
    run(registry, *args, env=env)
    assert started.settings[0].web_host == host


def test_the_help_says_what_the_web_host_is_for(registry: Path) -> None:
    result = runner.invoke(worker_cli.app, ["--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    assert "--web-host" in result.output
    assert "PMS_RELAY_WEB_HOST" in result.output
    assert "Loopback" in result.output


def test_faust_runs_with_our_logging_not_its_own(started: Started, registry: Path) -> None:
    run(registry, "--log-level", "debug")
    (worker,) = started.workers
    assert started.log_levels == ["debug"]
    assert worker.kwargs["override_logging"] is False  # mode would replace the root handlers
    assert worker.kwargs["quiet"] is True
    assert worker.spinner is None
    assert worker.executed


def test_the_web_port_can_come_from_the_environment(started: Started, registry: Path) -> None:
    run(registry, env={"PMS_RELAY_WEB_PORT": "7070"})  # the container image sets it
    assert started.settings[0].web_port == 7070


def test_kafka_security_comes_from_the_environment(started: Started, registry: Path) -> None:
    env = {
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_USERNAME": "relay",
        "KAFKA_SASL_PASSWORD": "pw-never-printed",
    }
    result = runner.invoke(
        worker_cli.app, ["--config", str(registry), "--bootstrap-servers", "k:9093"], env=env
    )
    assert result.exit_code == 0, result.output
    kafka = started.settings[0].kafka
    assert (kafka.bootstrap_servers, kafka.security_protocol.value, kafka.sasl_username) == (
        "k:9093",
        "SASL_SSL",
        "relay",
    )
    assert "pw-never-printed" not in result.output


def test_bad_kafka_settings_stop_the_worker_naming_the_variable(started: Started, registry: Path) -> None:
    result = runner.invoke(
        worker_cli.app, ["--config", str(registry)], env={"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}
    )
    assert result.exit_code == 2
    assert "KAFKA_SASL_USERNAME" in result.output
    assert not started.settings


def test_group_and_store_settings_come_from_the_flags(
    started: Started, registry: Path, tmp_path: Path
) -> None:
    run(registry, "--session-timeout", "12", "--store", "rocksdb", "--data-dir", str(tmp_path / "d"))
    (settings,) = started.settings
    assert settings.session_timeout_seconds == 12.0
    assert settings.store is topology.TableStore.ROCKSDB
    assert settings.data_dir == tmp_path / "d"


def test_the_defaults_are_the_memory_store_and_a_six_second_session(started: Started, registry: Path) -> None:
    run(registry)
    (settings,) = started.settings
    assert (settings.store, settings.data_dir, settings.session_timeout_seconds) == (
        topology.TableStore.MEMORY,
        None,
        6.0,
    )


def test_an_unknown_store_stops_the_worker(started: Started, registry: Path) -> None:
    result = runner.invoke(worker_cli.app, ["--config", str(registry), "--store", "redis"])
    assert result.exit_code == 2
    assert not started.settings
