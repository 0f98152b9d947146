"""The container image.

Where a Docker engine answers, the image is built from deploy/docker/Dockerfile and run: ``pms-relay --help``
works, it runs as uid 10001, and no test-only package is importable inside. Without an engine that test is
skipped, saying so; the image's install itself is still proven here: the build stage's exact steps (its
context, the committed files less Dockerfile.dockerignore, then ``pip install --only-binary=:all: .`` into a
fresh virtualenv) give a working ``pms-relay`` with no test tool installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.kafka_fixtures import docker_available
from tests.unit.deploy.tools import build_context
from tests.unit.test_runtime_imports import TEST_ONLY

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"


def _run(*args: str | Path, timeout: float = 600, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.skipif(
    not docker_available(),
    reason="no Docker engine reachable (the docker CLI here is only a client): the image is built and run "
    "where one is, e.g. a CI runner with Docker",
)
def test_the_image_builds_and_runs_the_cli() -> None:
    tag = f"pms-relay-test:{uuid.uuid4().hex[:8]}"
    built = _run("docker", "build", "-f", DOCKERFILE, "-t", tag, ".", timeout=1200)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    try:
        helped = _run("docker", "run", "--rm", tag, "--help", timeout=120)
        assert helped.returncode == 0, helped.stderr
        assert "worker" in helped.stdout
        uid = _run("docker", "run", "--rm", "--entrypoint", "id", tag, "-u", timeout=120)
        assert uid.stdout.strip() == "10001"
        probe = f"import importlib.util as u; print([m for m in {TEST_ONLY!r} if u.find_spec(m)])"
        found = _run("docker", "run", "--rm", "--entrypoint", "python", tag, "-c", probe, timeout=120)
        assert found.stdout.strip() == "[]", found.stdout + found.stderr
    finally:
        _run("docker", "image", "rm", "-f", tag, timeout=120)


def test_the_image_install_without_an_engine(tmp_path: Path) -> None:
    context = tmp_path / "context"
    for relative in build_context():
        target = context / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, target)
    venv = tmp_path / "venv"
    made = _run(sys.executable, "-m", "venv", venv)
    assert made.returncode == 0, made.stderr
    installed = _run(venv / "bin" / "pip", "install", "-q", "--only-binary=:all:", ".", cwd=context)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    helped = _run(venv / "bin" / "pms-relay", "--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "worker" in helped.stdout
    # Package data comes along: the Avro contract the codec reads at run time.
    schemas = _run(
        venv / "bin" / "python",
        "-c",
        "import schemas; print(schemas.default_catalog().current('Command').parsed['name'])",
        cwd=tmp_path,
    )
    assert schemas.returncode == 0, schemas.stderr
    probe = f"import importlib.util as u; print([m for m in {TEST_ONLY!r} if u.find_spec(m)])"
    found = _run(venv / "bin" / "python", "-c", probe, cwd=tmp_path)
    assert found.stdout.strip() == "[]", found.stdout + found.stderr
