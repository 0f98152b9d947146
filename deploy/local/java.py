"""Find a Java runtime new enough for Kafka 4 (17+): ``$JAVA_HOME/bin/java``, else ``java`` on PATH."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from deploy.local.errors import ToolMissing

__all__ = ["MIN_JAVA", "find_java", "parse_java_major"]

MIN_JAVA = 17

_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


def parse_java_major(version_output: str) -> int | None:
    """The major version from ``java -version`` output: ``"17.0.15"`` -> 17, legacy ``"1.8.0_392"`` -> 8."""
    match = _VERSION.search(version_output)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        return int(match.group(2))
    return major


def find_java(env: Mapping[str, str] | None = None) -> Path:
    """The java executable to run Kafka with; raises :class:`ToolMissing` with a fix if none fits."""
    env = os.environ if env is None else env
    java = _locate(env)
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError as exc:
        raise ToolMissing(f"cannot run {java}: {exc}") from exc
    major = parse_java_major(out.stderr + out.stdout)
    if major is None or major < MIN_JAVA:
        raise ToolMissing(
            f"{java} is Java {major or 'unknown'}; Kafka 4 needs Java {MIN_JAVA}+. "
            "Install a JDK 17+ and set JAVA_HOME to it."
        )
    return java


def _locate(env: Mapping[str, str]) -> Path:
    home = env.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        if candidate.is_file():
            return candidate
        raise ToolMissing(f"JAVA_HOME={home} has no bin/java; point JAVA_HOME at a JDK 17+ or unset it.")
    found = shutil.which("java", path=env.get("PATH"))
    if found is None:
        raise ToolMissing(
            f"java not found: install a JDK {MIN_JAVA}+ (e.g. openjdk-17-jre-headless) or set JAVA_HOME."
        )
    return Path(found)
