"""Fetch Zipkin's server (``io.zipkin:zipkin-server``, its self-contained ``exec`` jar) from Maven Central into
``~/.cache/pms-relay/zipkin/<version>/``, once, the way :mod:`deploy.local.jars` fetches Kafka: ``mvn
dependency:copy`` into a staging directory, published with an atomic rename under a lock file, so a version
directory that holds the jar is complete and parallel callers fetch it once.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from deploy.local.errors import FetchFailed, ToolMissing
from deploy.local.jars import default_cache_root

__all__ = ["ZIPKIN_VERSION", "fetch_zipkin", "zipkin_cache"]

ZIPKIN_VERSION = "3.5.1"


def zipkin_cache() -> Path:
    return default_cache_root() / "zipkin"


def fetch_zipkin(
    version: str = ZIPKIN_VERSION,
    cache_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """The path of Zipkin ``version``'s exec jar, fetching it first if needed (~130 MB, one time)."""
    cache_dir = cache_dir or zipkin_cache()
    target = cache_dir / version
    jar = target / _jar_name(version)
    if jar.is_file():
        return jar
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / f".{version}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if jar.is_file():  # another process fetched it while we waited
            return jar
        if progress is not None:
            progress(f"fetching Zipkin {version} from Maven Central… (one time, ~130 MB)")
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=cache_dir))
        try:
            _run_maven(version, staging)
            if target.exists():  # a broken leftover: replace it
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return jar


def _jar_name(version: str) -> str:
    return f"zipkin-server-{version}-exec.jar"


def _run_maven(version: str, out_dir: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ToolMissing(
            "mvn not found on PATH: install Maven (e.g. apt-get install maven) to fetch Zipkin."
        )
    cmd = [mvn, "-q", "-B", "dependency:copy", f"-Dartifact=io.zipkin:zipkin-server:{version}:jar:exec"]
    cmd.append(f"-DoutputDirectory={out_dir}")
    with tempfile.TemporaryDirectory(prefix="pms-relay-zipkin-") as cwd:  # no project: a neutral directory
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0 or not (out_dir / _jar_name(version)).is_file():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise FetchFailed(
            f"could not fetch Zipkin {version} from Maven Central (mvn exit {done.returncode}):\n{tail}"
        )
