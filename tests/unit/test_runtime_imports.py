"""The runtime image installs no test extra: nothing the image runs may import a test-only package.

Every module of the installed packages (pyproject's package list) is imported in a fresh interpreter in which the test extra's
packages cannot be imported at all, as in the image. ``deploy.bench`` is left out: the benchmarks run from a
checkout beside the test tree (they drive ``tests.relay_system``), never from the image.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_ONLY = (
    "pytest",
    "_pytest",
    "pytest_asyncio",
    "pytest_timeout",
    "testcontainers",
    "cryptography",
    "docker",
)

_PROBE = textwrap.dedent(
    """
    import importlib, pkgutil, sys

    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {blocked!r}:
                raise ImportError(f"test-only package {{name}} imported at runtime")
            return None

    sys.meta_path.insert(0, Refuse())
    imported = 0
    for root in {roots!r}:
        package = importlib.import_module(root)
        for info in pkgutil.walk_packages(package.__path__, root + "."):
            name = info.name
            if name.startswith("deploy.bench") or ".tests" in name or name.endswith(".__main__"):
                continue
            importlib.import_module(name)
            imported += 1
    importlib.import_module("topology")
    print(imported)
    """
)


def test_no_runtime_module_imports_a_test_only_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    roots = [pattern.rstrip("*") for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    probe = _PROBE.format(blocked=TEST_ONLY, roots=tuple(roots))
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.strip()) > 50  # the walk found the modules, not an empty tree
