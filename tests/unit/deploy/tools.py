"""Where the artefacts are, and running the real checkers (the dev extra) on them."""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def tool(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run a checker installed beside this interpreter (the dev extra); its output in ``stdout``."""
    executable = BIN / name
    if not executable.exists():  # a venv's bin is where pip put it; otherwise PATH
        found = shutil.which(name)
        assert found is not None, f"{name} is not installed: pip install -e '.[dev]'"
        executable = Path(found)
    return subprocess.run(
        [str(executable), *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def served_pages() -> set[str]:
    """The health pages the worker's app serves: what ``streams.health.install`` registers, on a recording
    stand-in for the Faust app (the worker's other page, ``/metrics``, comes from ``streams.prometheus``)."""
    from streams import health

    class Recording:
        def __init__(self) -> None:
            self.pages: set[str] = set()

        def page(self, path: str) -> Callable[[Any], Any]:
            self.pages.add(path)
            return lambda view: view

    app = Recording()
    health.install(app, state=lambda: None, commands_topic="pms.commands")  # type: ignore[arg-type]
    return app.pages


DOCKERIGNORE = DEPLOY / "docker" / "Dockerfile.dockerignore"


def ignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``relative`` out of the build context: a pattern matches the path or one of its
    parent directories, and ``**/`` matches at any depth, the top included (no ``!`` exceptions are used)."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        variants = {pattern, pattern.removeprefix("**/")}
        for prefix in prefixes:
            if any(fnmatch.fnmatchcase(prefix, variant) for variant in variants):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatchcase(prefix.rsplit("/", 1)[-1], pattern[3:]):
                return True
    return False


def build_context() -> list[str]:
    """The committed files the image's build stage receives (``COPY . .`` less the ignore file)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    patterns = ignore_patterns()
    return [path for path in listed.split("\0") if path and not ignored(path, patterns)]


def cli_accepts(args: list[str]) -> bool:
    """Whether ``pms-relay ARGS`` parses: with ``--help`` last, click validates every argument before it
    prints the help, and runs nothing."""
    from typer.testing import CliRunner

    from cli import app

    return CliRunner().invoke(app, args).exit_code == 0


def worker_options(args: list[str]) -> dict[str, Any]:
    """The option values ``pms-relay ARGS`` (``worker …``) hands the worker, parsed as the CLI parses them;
    nothing runs."""
    import typer.main

    from cli.worker import app as worker_app

    assert args[0] == "worker", args
    return dict(typer.main.get_command(worker_app).make_context("worker", list(args[1:])).params)


def faust_conf(args: list[str]) -> Any:
    """The Faust settings of the tables a worker started with ``pms-relay ARGS`` keeps: its store, its data
    dir and its standby replicas (``topology._faust_app``, given the store options of ``ARGS``)."""
    from topology import TableStore, WorkerSettings, _faust_app

    options = worker_options(args)
    settings = WorkerSettings(store=TableStore(options["store"]), data_dir=options["data_dir"])
    return _faust_app(settings).conf
