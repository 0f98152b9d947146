"""The compose system's practice registry reaches its sandboxes: the three sandboxes started as compose starts
them (the seed and credentials read from compose.yaml), the registry file as compose mounts it (only the
sandboxes' addresses changed from the compose network's to this machine's), the worker's environment as
compose sets it, and ``pms-relay config check --connect`` validates every practice's connection."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.dentrix.sandbox import DentrixSandbox
from adapters.dentrix.sandbox import SandboxConfig as DentrixConfig
from adapters.eaglesoft.sandbox import EaglesoftSandbox
from adapters.eaglesoft.sandbox import SandboxConfig as EaglesoftConfig
from adapters.opendental.sandbox import OpenDentalSandbox
from adapters.opendental.sandbox import SandboxConfig as OpenDentalConfig

pytestmark = pytest.mark.integration

COMPOSE_DIR = Path(__file__).resolve().parents[2] / "deploy" / "compose"


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text()))


def _worker() -> dict[str, Any]:
    """A worker service (they differ only in their volume: tests/unit/deploy/test_compose.py)."""
    services = _compose()["services"].values()
    return next(s for s in services if s.get("image") == "pms-relay:local" and s["command"][0] == "worker")


def _interpolate(text: str) -> str:
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(text))


def _option(command: list[str], name: str) -> str | None:
    return _interpolate(command[command.index(name) + 1]) if name in command else None


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[dict[str, str]]:
    """Compose's service name -> this machine's URL of a sandbox started with compose's options."""
    services = _compose()["services"]
    dentrix_command = services["dentrix-sandbox"]["command"]
    dentrix = DentrixSandbox(
        DentrixConfig(
            seed=int(_option(dentrix_command, "--seed") or 42),
            client_id=_option(dentrix_command, "--client-id"),
            client_secret=_option(dentrix_command, "--client-secret"),
        )
    ).run_in_thread()
    eaglesoft_command = services["eaglesoft-sandbox"]["command"]
    eaglesoft = EaglesoftSandbox(
        EaglesoftConfig(seed=int(_option(eaglesoft_command, "--seed") or 42))
    ).run_in_thread()
    opendental_command = services["opendental-sandbox"]["command"]
    opendental = OpenDentalSandbox(
        OpenDentalConfig(seed=int(_option(opendental_command, "--seed") or 42))
    ).run_in_thread()
    yield {
        "dentrix-sandbox": dentrix.base_url,
        "eaglesoft-sandbox": eaglesoft.base_url,
        "opendental-sandbox": opendental.base_url,
    }
    dentrix.stop()
    eaglesoft.stop()
    opendental.stop()


@pytest.mark.parametrize("secrets_as", ["compose", "wrong"])
def test_the_compose_registry_connects_to_the_compose_sandboxes(
    sandboxes: dict[str, str], tmp_path: Path, secrets_as: str
) -> None:
    """With compose's secrets every practice connects; with wrong ones the same check fails (it can)."""
    text = (COMPOSE_DIR / "practices.yaml").read_text()
    for service, url in sandboxes.items():
        port = re.search(rf"http://{service}:(\d+)", text)
        assert port is not None, f"the registry does not name {service}"
        text = text.replace(f"http://{service}:{port.group(1)}", url)
    registry = tmp_path / "practices.yaml"
    registry.write_text(text)
    worker_env = {k: _interpolate(v) for k, v in _worker()["environment"].items()}
    secrets = {k: v for k, v in worker_env.items() if k.startswith("PMS_RELAY_DEMO_")}
    assert secrets, "the worker service sets no secret for the registry"
    if secrets_as == "wrong":
        secrets = dict.fromkeys(secrets, "not-the-secret")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PMS_RELAY_DEMO_")}, **secrets}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "config", "check", "--connect", "-c", str(registry)],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if secrets_as == "wrong":
        assert done.returncode == 1, done.stdout + done.stderr
        return
    assert done.returncode == 0, done.stdout + done.stderr
    names = set(yaml.safe_load(text)["practices"])
    assert names == {"dx-demo", "es-demo", "od-demo"}
    assert all(name in done.stdout for name in names)
