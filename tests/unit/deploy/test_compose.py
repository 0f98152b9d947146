"""deploy/compose/compose.yaml: valid against the compose-spec schema (check-jsonschema's vendored copy),
which rejects broken copies; the system it describes is the one promised (each worker keeping its tables
in RocksDB on its own named volume), and every ``pms-relay`` command in it is one the CLI accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.deploy.conftest import BrokenCopy
from tests.unit.deploy.tools import DEPLOY, ROOT, cli_accepts, faust_conf, tool, worker_options

COMPOSE = DEPLOY / "compose" / "compose.yaml"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"


def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def relay_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items() if s.get("image") == "pms-relay:local"}


def workers() -> dict[str, dict[str, Any]]:
    """The services that run ``pms-relay worker``."""
    return {name: s for name, s in relay_services().items() if s["command"][0] == "worker"}


def test_the_compose_file_matches_the_compose_spec() -> None:
    done = tool("check-jsonschema", "--builtin-schema", "vendor.compose-spec", COMPOSE)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("      aliases: [worker]\n", "      aliases: worker\n"),  # a list of names
        (
            "      - worker-1-data:/var/lib/pms-relay\n",
            "      - {source: worker-1-data, target: /var/lib/pms-relay}\n",
        ),  # the long form needs a type
        (
            "        condition: service_completed_successfully",
            "        condition: when_ready",
        ),  # no such condition
        ("  stop_grace_period: 75s\n", "  stop_grace_periods: 75s\n"),  # no such key
        ("  prometheus:\n    image:", "  prometheus:\n    imag:"),
    ],
    ids=["aliases-type", "volume-long-form", "depends-condition", "unknown-key", "misspelt-image"],
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
    assert sorted(workers()) == ["worker-1", "worker-2"]
    assert services["zipkin"]["image"].startswith("openzipkin/zipkin:")
    for worker in workers().values():
        assert worker["environment"]["OTEL_TRACES_EXPORTER"] == "zipkin"
        assert worker["environment"]["OTEL_EXPORTER_ZIPKIN_ENDPOINT"] == "http://zipkin:9411/api/v2/spans"
        assert worker["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert services["prometheus"]["image"].startswith("prom/prometheus:")
    commands = {name: service["command"][:2] for name, service in relay_services().items()}
    assert commands["dentrix-sandbox"] == ["sandbox", "dentrix"]
    assert commands["eaglesoft-sandbox"] == ["sandbox", "eaglesoft"]
    assert commands["topics"] == ["topics", "create"]
    assert commands["dashboard"] == ["dashboard", "--host"]
    assert commands["alerts"] == ["alerts", "run"]


def test_the_workers_differ_only_in_their_volume() -> None:
    first, *others = ({k: v for k, v in w.items() if k != "volumes"} for w in workers().values())
    assert others
    assert all(other == first for other in others)


def test_the_workers_stop_within_the_grace_of_a_call_and_a_revocation() -> None:
    for worker in workers().values():
        grace = worker["stop_grace_period"]
        assert int(grace.removesuffix("s")) > 30 + 5  # call budget + revoke wait (the worker's defaults)


# -- the persistent store ----------------------------------------------------------------------------------------


def _volume_at(service: dict[str, Any], target: Path) -> str:
    """The source of the service's short-form volume mounted at ``target``."""
    (source,) = (s for s, _, t in (v.partition(":") for v in service["volumes"]) if Path(t) == target)
    return source


def test_each_worker_keeps_its_tables_in_rocksdb_on_its_own_named_volume() -> None:
    """``--store rocksdb --data-dir D`` with a named volume at D, one per worker: two workers in one data dir
    would lock each other out of their partitions' files."""
    declared = compose()["volumes"]
    sources = []
    for name, worker in workers().items():
        options = worker_options(worker["command"])
        assert options["store"] == "rocksdb", name
        assert options["data_dir"] is not None, name
        source = _volume_at(worker, options["data_dir"])
        assert source in declared, f"{name}: {source} is not a named volume"  # not a bind mount of the host
        sources.append(source)
    assert len(set(sources)) == len(sources) == len(workers())


def test_the_workers_commands_give_faust_a_persistent_store_with_a_standby() -> None:
    for worker in workers().values():
        conf = faust_conf(worker["command"])
        assert str(conf.store) == "rocksdb:"
        assert Path(conf.datadir) == worker_options(worker["command"])["data_dir"]
        assert conf.table_standby_replicas == 1


def test_the_data_dir_is_the_images_directory_of_the_worker_user() -> None:
    """Docker fills a new named volume with the image's directory at its mount point, owner included: the
    workers can write theirs because the image creates it for uid 10001."""
    text = DOCKERFILE.read_text()
    user = re.search(r"useradd [^\n]*--uid (\d+)[^\n]*--home-dir (\S+) --create-home", text)
    assert user is not None
    assert re.search(rf"^USER {user.group(1)}:", text, re.M)
    assert re.search(rf"^WORKDIR {re.escape(user.group(2))}$", text, re.M)
    # No VOLUME: every container of the image (sandboxes, one-shot commands) would get an anonymous volume.
    assert not re.search(r"^VOLUME\b", text, re.M)
    for worker in workers().values():
        assert worker_options(worker["command"])["data_dir"] == Path(user.group(2))


def test_prometheus_scrapes_every_worker_on_its_web_port() -> None:
    config = yaml.safe_load((DEPLOY / "compose" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    (discovery,) = job["dns_sd_configs"]
    assert discovery["names"] == ["worker"]  # Docker's DNS answers with every container of that alias
    assert discovery["port"] == 6066  # the image's PMS_RELAY_WEB_PORT
    for worker in workers().values():
        assert worker["networks"]["default"]["aliases"] == ["worker"]
        assert worker["environment"]["PMS_RELAY_WEB_HOST"] == "0.0.0.0"
    assert set(compose()["services"]["prometheus"]["depends_on"]) == set(workers())


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
    for worker in workers().values():
        (mount,) = worker["configs"]
        assert mount["target"] == "/etc/pms-relay/practices.yaml"
        assert worker["command"][1:3] == ["--config", mount["target"]]


def test_paths_in_compose_exist() -> None:
    document = compose()
    for config in document["configs"].values():
        assert (COMPOSE.parent / config["file"]).is_file()
    build = document["x-relay"]["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == ROOT
    assert Path(context, build["dockerfile"]).is_file()
