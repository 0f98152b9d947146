"""deploy/compose/compose.yaml: valid against the compose-spec schema (check-jsonschema's vendored copy),
which rejects broken copies; the system it describes is the one promised, and every ``pms-relay`` command
in it is one the CLI accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.deploy.conftest import BrokenCopy
from tests.unit.deploy.tools import DEPLOY, ROOT, cli_accepts, tool

COMPOSE = DEPLOY / "compose" / "compose.yaml"


def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def relay_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items() if s.get("image") == "pms-relay:local"}


def test_the_compose_file_matches_the_compose_spec() -> None:
    done = tool("check-jsonschema", "--builtin-schema", "vendor.compose-spec", COMPOSE)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("    deploy:\n      replicas: 2\n", "    deploy:\n      replicas: [2]\n"),  # not a count
        (
            "        condition: service_completed_successfully",
            "        condition: when_ready",
        ),  # no such condition
        ("    stop_grace_period: 75s\n", "    stop_grace_periods: 75s\n"),  # no such key
        ("  prometheus:\n    image:", "  prometheus:\n    imag:"),
    ],
    ids=["replicas-type", "depends-condition", "unknown-key", "misspelt-image"],
)
def test_the_compose_spec_rejects_a_broken_copy(broken_copy: BrokenCopy, old: str, new: str) -> None:
    done = tool("check-jsonschema", "--builtin-schema", "vendor.compose-spec", broken_copy(COMPOSE, old, new))
    assert done.returncode != 0
    assert "validation error" in (done.stdout + done.stderr).lower()


def test_the_demo_system() -> None:
    services = compose()["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert (
        "broker,controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    )  # KRaft, no ZooKeeper
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["zipkin"]["image"].startswith("openzipkin/zipkin:")
    worker_env = services["worker"]["environment"]
    assert worker_env["OTEL_TRACES_EXPORTER"] == "zipkin"
    assert worker_env["OTEL_EXPORTER_ZIPKIN_ENDPOINT"] == "http://zipkin:9411/api/v2/spans"
    assert services["prometheus"]["image"].startswith("prom/prometheus:")
    commands = {name: service["command"][:2] for name, service in relay_services().items()}
    assert commands["dentrix-sandbox"] == ["sandbox", "dentrix"]
    assert commands["eaglesoft-sandbox"] == ["sandbox", "eaglesoft"]
    assert commands["topics"] == ["topics", "create"]
    assert commands["dashboard"] == ["dashboard", "--host"]
    assert commands["alerts"] == ["alerts", "run"]
    assert services["worker"]["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_the_workers_stop_within_the_grace_of_a_call_and_a_revocation() -> None:
    grace = compose()["services"]["worker"]["stop_grace_period"]
    assert int(grace.removesuffix("s")) > 30 + 30  # call budget + revoke wait (defaults)


def test_prometheus_scrapes_every_worker_on_its_web_port() -> None:
    config = yaml.safe_load((DEPLOY / "compose" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    (discovery,) = job["dns_sd_configs"]
    assert discovery["names"] == ["worker"]  # Docker's DNS answers with every replica
    assert discovery["port"] == 6066  # the image's PMS_RELAY_WEB_PORT
    assert compose()["services"]["worker"]["environment"]["PMS_RELAY_WEB_HOST"] == "0.0.0.0"


def test_the_dashboard_and_alerts_are_placeholders_until_their_commands_exist() -> None:
    text = COMPOSE.read_text()
    for process in ("dashboard", "alerts"):
        exists = cli_accepts([process, "--help"])
        if exists:
            assert process in compose()["services"], f"`pms-relay {process}` exists now: add it to compose"
        else:
            assert re.search(rf"^  # {process}: placeholder", text, re.M), f"no placeholder for {process}"


def test_every_relay_command_in_compose_is_one_the_cli_accepts() -> None:
    for name, service in relay_services().items():
        args = [_interpolate(arg) for arg in service["command"]]
        assert cli_accepts([*args, "--help"]), f"{name}: pms-relay {' '.join(args)} is not a valid command"


def test_the_cli_check_rejects_a_command_that_does_not_exist() -> None:
    assert not cli_accepts(["no-such-command", "--help"])
    assert not cli_accepts(["worker", "--no-such-option", "--help"])


def _interpolate(text: str) -> str:
    """Compose's ``${VAR:-default}``, with the default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)


def test_the_alerts_service_reads_a_valid_alerts_file() -> None:
    from ops.alerts.settings import load_settings

    service = compose()["services"]["alerts"]
    (mount,) = service["configs"]
    command = service["command"]
    assert command[command.index("--config") + 1] == mount["target"]
    source = compose()["configs"][mount["source"]]["file"]
    load_settings(COMPOSE.parent / source)  # raises, naming the setting, when the file is wrong


def test_the_registry_file_is_the_one_the_workers_mount() -> None:
    document = compose()
    assert document["configs"]["practices"]["file"] == "./practices.yaml"
    assert (COMPOSE.parent / "practices.yaml").is_file()
    (mount,) = document["services"]["worker"]["configs"]
    assert mount["target"] == "/etc/pms-relay/practices.yaml"
    assert document["services"]["worker"]["command"][1:3] == ["--config", mount["target"]]


def test_paths_in_compose_exist() -> None:
    document = compose()
    for config in document["configs"].values():
        assert (COMPOSE.parent / config["file"]).is_file()
    build = document["x-relay"]["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == ROOT
    assert Path(context, build["dockerfile"]).is_file()
