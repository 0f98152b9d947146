"""deploy/docker/Dockerfile: hadolint passes it and rejects broken copies; its shape is the one promised
(multi-stage, slim base, non-root, a HEALTHCHECK on the worker's web port, ``pms-relay`` as entrypoint, no
compilers or test tools) and its build context carries every package the project installs, and no tests."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from tests.unit.deploy.conftest import BrokenCopy
from tests.unit.deploy.tools import DEPLOY, ROOT, build_context, ignore_patterns, ignored, served_pages, tool

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"


def stages(text: str) -> list[list[str]]:
    """The Dockerfile's instructions (continuations joined, comments dropped), split by FROM."""
    joined = re.sub(r"\\\n\s*", " ", text)
    lines = [
        line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    found: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            found.append([])
        if found:
            found[-1].append(line)
    return found


def test_hadolint_passes_the_dockerfile() -> None:
    done = tool("hadolint", "--no-color", DOCKERFILE)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("FROM ${PYTHON_IMAGE} AS build", "FROM python:latest AS build", "DL3007"),  # a moving base
        ("USER 10001:10001\n", "USER root\n", "DL3002"),  # the last USER is root
        (
            "RUN python -m venv /opt/pms-relay\n",
            "RUN apt-get update && apt-get install -y gcc\nRUN python -m venv /opt/pms-relay\n",
            "DL3008",  # unpinned apt packages (and a compiler)
        ),
        (
            "/opt/pms-relay/bin/pip install --no-cache-dir",
            "pip install pytest && /opt/pms-relay/bin/pip install",
            "DL3013",
        ),
    ],
    ids=["latest-base", "root-user", "apt-compiler", "unpinned-pip"],
)
def test_hadolint_rejects_a_broken_copy(broken_copy: BrokenCopy, old: str, new: str, rule: str) -> None:
    done = tool("hadolint", "--no-color", "--format", "json", broken_copy(DOCKERFILE, old, new))
    assert done.returncode != 0
    assert rule in {finding["code"] for finding in json.loads(done.stdout)}


def test_multi_stage_on_a_slim_base() -> None:
    text = DOCKERFILE.read_text()
    found = stages(text)
    assert len(found) >= 2
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert base is not None
    assert base.group(1).startswith("python:3.11")
    assert "-slim" in base.group(1)
    assert all(stage[0].split()[1] == "${PYTHON_IMAGE}" for stage in found)
    assert any(line.startswith("COPY --from=build ") for line in found[-1])


def test_the_runtime_stage_runs_as_non_root_with_a_healthcheck_and_the_cli() -> None:
    final = stages(DOCKERFILE.read_text())[-1]
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users, "no USER in the runtime stage"
    assert users[-1].split(":")[0] not in ("root", "0")
    entrypoint = next(line for line in final if line.startswith("ENTRYPOINT "))
    assert json.loads(entrypoint.removeprefix("ENTRYPOINT ")) == ["pms-relay"]
    healthcheck = next(line for line in final if line.startswith("HEALTHCHECK "))
    assert "PMS_RELAY_WEB_PORT" in healthcheck
    assert "127.0.0.1" in healthcheck  # the worker's web port is loopback unless told otherwise
    assert "/health/live" in healthcheck
    assert "/health/live" in served_pages()
    assert "PMS_RELAY_WEB_PORT=6066" in " ".join(final)
    command = json.loads(next(line for line in final if line.startswith("CMD ")).removeprefix("CMD "))
    assert command[0] == "worker"


def test_no_compiler_and_no_test_tool_in_the_runtime_stage() -> None:
    final = " ".join(stages(DOCKERFILE.read_text())[-1]).lower()
    for banned in (
        "gcc",
        "build-essential",
        "g++",
        "make ",
        "pytest",
        "testcontainers",
        "[dev",
        "[test",
        "apt-get",
    ):
        assert banned not in final, banned
    build = " ".join(stages(DOCKERFILE.read_text())[0])
    assert "--only-binary=:all:" in build  # no sdist is compiled, so no compiler is needed at all
    assert "install --no-cache-dir --only-binary=:all: ." in build  # the runtime dependencies, no extra
    assert "COPY . ." in build  # the whole context: see Dockerfile.dockerignore


def test_the_build_context_carries_every_installed_package() -> None:
    """A package left out of the context would build an image that fails on import."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {
        pattern.rstrip("*") for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    modules = {f"{name}.py" for name in project["tool"]["setuptools"]["py-modules"]}
    context = build_context()
    tops = {path.split("/")[0] for path in context}
    assert packages | modules | {"pyproject.toml", project["project"]["readme"]} <= tops
    assert any(path.endswith(".avsc") for path in context)  # package data too


def test_the_build_context_leaves_out_tests_and_local_state() -> None:
    patterns = ignore_patterns()
    for left_out in ("tests/unit/test_codec.py", ".venv/bin/python", ".git/HEAD", "streams/__pycache__/x.pyc",
                     "deploy/bench/rig.py", "pms-relay-data/v1", "practices.yaml", ".env"):  # fmt: skip
        assert ignored(left_out, patterns), left_out
    for kept in (
        "client/relay.py",
        "schemas/pms/Command.avsc",
        "deploy/local/log4j2.properties",
        "topology.py",
    ):
        assert not ignored(kept, patterns), kept
    assert not any(path.startswith("tests/") for path in build_context())
