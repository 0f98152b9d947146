"""Fetch the Kafka broker's jars from Maven Central into a per-version cache directory, once.

The Apache download site may be unreachable; Maven Central is not. A throwaway pom that depends on
``org.apache.kafka:kafka_2.13:<version>`` plus ``mvn dependency:copy-dependencies`` yields the broker's runtime
classpath (~45 jars, ~43 MB). Several processes (parallel pytest runs, a CLI) may ask at once, so the fetch is
serialised with a lock file and published with an atomic rename: a version directory that exists is complete.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from deploy.local.errors import FetchFailed, ToolMissing

__all__ = ["default_cache_root", "fetch_jars", "render_pom"]

# Kafka's runtime dependencies carry slf4j 1.7 but no binding, so the broker would log nothing. This
# binding routes slf4j to the log4j2 that Kafka ships; Maven's nearest-wins keeps Kafka's log4j-api/core.
_SLF4J_BINDING = ("org.apache.logging.log4j", "log4j-slf4j-impl", "2.24.3")


def default_cache_root(env: dict[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/pms-relay`` (default ``~/.cache/pms-relay``)."""
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pms-relay"


def render_pom(version: str) -> str:
    """A pom whose runtime dependencies are exactly what ``kafka.Kafka`` needs to run."""
    group, artifact, binding_version = _SLF4J_BINDING
    return f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>pms-relay.local</groupId>
  <artifactId>kafka-fetch</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{version}</version>
    </dependency>
    <dependency>
      <groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{binding_version}</version>
    </dependency>
  </dependencies>
</project>
"""


def fetch_jars(version: str, cache_dir: Path, progress: Callable[[str], None] | None = None) -> Path:
    """The directory holding Kafka ``version``'s jars, fetching them first if needed."""
    target = cache_dir / version
    if _complete(target, version):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir / f".{version}.lock"):
        if _complete(target, version):  # another process fetched it while we waited
            return target
        if progress is not None:
            progress(f"fetching Kafka {version} jars from Maven Central… (one time, ~45 MB)")
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=cache_dir))
        try:
            _run_maven(version, staging)
            if target.exists():  # a broken leftover (no kafka jar): replace it
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _complete(directory: Path, version: str) -> bool:
    return (directory / f"kafka_2.13-{version}.jar").is_file()


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_maven(version: str, out_dir: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ToolMissing("mvn not found on PATH: install Maven (e.g. apt-get install maven) to fetch Kafka.")
    with tempfile.TemporaryDirectory(prefix="pms-relay-kafka-pom-") as pom_dir:
        (Path(pom_dir) / "pom.xml").write_text(render_pom(version))
        cmd = [mvn, "-q", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={out_dir}"]
        cmd.append("-DincludeScope=runtime")
        done = subprocess.run(cmd, cwd=pom_dir, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0 or not _complete(out_dir, version):
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise FetchFailed(
            f"could not fetch Kafka {version} from Maven Central (mvn exit {done.returncode}):\n{tail}"
        )
