"""Where the artefacts are, and running the real checkers (the dev extra) on them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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
