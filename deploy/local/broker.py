"""A single-node Apache Kafka (KRaft) run as a plain JVM process: no Docker, no Kafka install.

Layout of a data dir::

    server.properties   written on every start (ports may change between starts)
    kafka-version       the Kafka version that formatted ``kraft/``
    kraft/              the broker's log dir (formatted once with ``StorageTool format``)
    logs/server.log     log4j2 output (warnings, errors, start/stop lines)
    logs/broker.out     the JVM's stdout/stderr (crashes before log4j2 starts)
    broker.pid          the running broker's pid, so ``status``/``down`` work from another process
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeAlias

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from deploy.local import config, process
from deploy.local.errors import BrokerFailed, LocalKafkaError, PortInUse
from deploy.local.jars import default_cache_root, fetch_jars
from deploy.local.java import find_java
from deploy.local.ports import free_ports, port_answers, port_is_free
from deploy.local.security import BrokerSecurity, ScramUser, format_arguments

__all__ = ["DEFAULT_KAFKA_VERSION", "BrokerStatus", "LocalKafka", "ProgressFn", "ping", "start_ephemeral"]

DEFAULT_KAFKA_VERSION = "4.4.0"

_LOG4J_CONFIG = Path(__file__).with_name("log4j2.properties")
_log = logging.getLogger(__name__)
_QUIET = logging.getLogger("deploy.local.librdkafka")
_QUIET.propagate = False
_QUIET.addHandler(logging.NullHandler())

ProgressFn: TypeAlias = Callable[[str], None] | None


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap_servers: str | None
    version: str | None
    data_dir: Path


class LocalKafka:
    """One local broker+controller bound to ``data_dir``.

    ``up()`` fetches the jars (once, cached), formats the data dir (once), starts the JVM and, with
    ``wait=True``, returns once the broker answers metadata requests. ``up()`` on a running instance is a
    no-op that returns ``False``. ``down()`` stops it (SIGTERM, then SIGKILL)."""

    def __init__(
        self,
        *,
        version: str = DEFAULT_KAFKA_VERSION,
        data_dir: Path | None = None,
        cache_dir: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 9092,
        controller_port: int = 9093,
        heap: str = "512m",
        die_with_parent: bool = False,
        progress: ProgressFn = None,
        node_id: int = 1,
        voters: str | None = None,
        cluster_id: str | None = None,
        security: BrokerSecurity | None = None,
    ) -> None:
        self.version = version
        self.data_dir = (data_dir or default_cache_root() / "local-kafka").resolve()
        self.cache_dir = cache_dir or default_cache_root() / "kafka"
        self.host = host
        self.port = port
        self.controller_port = controller_port
        self.heap = heap
        self._die_with_parent = die_with_parent
        self._progress = progress
        self._proc: subprocess.Popen[bytes] | None = None
        # A quorum's nodes share one cluster id and voter set; a node alone makes up its own.
        self.node_id = node_id
        self.voters = voters
        self.cluster_id = cluster_id
        self.security = security

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def sasl_bootstrap_servers(self) -> str:
        """The SASL_SSL (SCRAM-SHA-512) listener; only with ``security``."""
        assert self.security is not None, "this broker has no secure listeners"
        return f"{self.host}:{self.security.sasl_port}"

    @property
    def mtls_bootstrap_servers(self) -> str:
        """The SSL listener that requires a client certificate; only with ``security``."""
        assert self.security is not None, "this broker has no secure listeners"
        return f"{self.host}:{self.security.mtls_port}"

    @property
    def _props_path(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def _pid_file(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def _logs(self) -> Path:
        return self.data_dir / "logs"

    def __enter__(self) -> LocalKafka:
        self.up()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.down()

    # -- lifecycle -------------------------------------------------------------------------------------------

    def up(self, wait: bool = True, timeout: float = 90.0) -> bool:
        """Start the broker; ``True`` if started, ``False`` if it was already running (then adopted)."""
        current = self.status()
        if current.running:
            self._adopt()
            if wait:
                self.wait_ready(timeout)
            return False
        self._check_ports()
        java = find_java()
        jars = fetch_jars(self.version, self.cache_dir, self._progress)
        self._prepare(java, jars)
        self._spawn(java, jars)
        if wait:
            self.wait_ready(timeout)
        return True

    def down(self, timeout: float = 30.0, wipe: bool = False) -> bool:
        """Stop the broker; ``True`` if one was running. ``wipe`` also deletes the data dir."""
        pid = self._running_pid()
        if pid is not None:
            reap = self._proc.poll if self._proc is not None and self._proc.pid == pid else None
            process.stop(pid, str(self._props_path), timeout, reap)
        self._proc = None
        self._pid_file.unlink(missing_ok=True)
        if wipe:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return pid is not None

    def status(self) -> BrokerStatus:
        pid = self._running_pid()
        running = pid is not None
        version_file = self.data_dir / "kafka-version"
        return BrokerStatus(
            running=running,
            pid=pid,
            bootstrap_servers=self._configured_bootstrap() if running else None,
            version=version_file.read_text().strip() if version_file.exists() else None,
            data_dir=self.data_dir,
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Poll until the broker answers a metadata request; raise :class:`BrokerFailed` with the log tail
        if it exits or stays silent past ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if self._running_pid() is None:
                raise BrokerFailed(f"Kafka broker exited during start-up.\n{self.log_tail()}")
            if port_answers(self.host, self.port) and ping(self.bootstrap_servers, timeout=2.0):
                return
            if time.monotonic() > deadline:
                raise BrokerFailed(f"Kafka broker did not answer within {timeout:.0f}s.\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for name in ("server.log", "broker.out"):
            path = self._logs / name
            if path.exists() and path.stat().st_size:
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path} (last {len(tail)} lines) ---\n" + "\n".join(tail))
        return "\n".join(parts) or f"(no broker log in {self._logs})"

    # -- internals -------------------------------------------------------------------------------------------

    def _running_pid(self) -> int | None:
        pid = process.read_pid(self._pid_file)
        if pid is not None and process.alive(pid, str(self._props_path)):
            return pid
        return None

    def _configured_bootstrap(self) -> str | None:
        if not self._props_path.exists():
            return None
        address = config.listener_port(config.parse_properties(self._props_path.read_text()))
        return None if address is None else f"{address[0]}:{address[1]}"

    def _adopt(self) -> None:
        """Take host and port from the running instance's config, which may differ from ours."""
        address = config.listener_port(config.parse_properties(self._props_path.read_text()))
        if address is not None:
            self.host, self.port = address

    def _check_ports(self) -> None:
        ports = [self.port, self.controller_port]
        if self.security is not None:
            ports += [self.security.sasl_port, self.security.mtls_port]
        for port in ports:
            if not port_is_free(self.host, port):
                raise PortInUse(
                    f"port {port} on {self.host} is in use by another process: stop it, or choose other ports "
                    "(--port / --controller-port)."
                )

    def _prepare(self, java: Path, jars: Path) -> None:
        log_dir = self.data_dir / "kraft"
        self._logs.mkdir(parents=True, exist_ok=True)
        self._check_version()
        props = config.broker_properties(
            log_dir=log_dir,
            host=self.host,
            port=self.port,
            controller_port=self.controller_port,
            node_id=self.node_id,
            voters=self.voters,
            security=self.security,
        )
        self._props_path.write_text(config.render_properties(props))
        if not (log_dir / "meta.properties").exists():
            self._format(java, jars)
            (self.data_dir / "kafka-version").write_text(self.version + "\n")

    def _check_version(self) -> None:
        version_file = self.data_dir / "kafka-version"
        formatted = version_file.read_text().strip() if version_file.exists() else None
        if formatted is not None and _version_key(formatted) > _version_key(self.version):
            raise LocalKafkaError(
                f"{self.data_dir} was formatted by Kafka {formatted}, newer than {self.version}; "
                "a broker cannot downgrade its metadata. Wipe it (`pms-relay kafka down --wipe`) or use "
                f"--version {formatted}."
            )

    def _format(self, java: Path, jars: Path) -> None:
        cmd = [*self._java_cmd(java, jars), "kafka.tools.StorageTool", "format"]
        cmd += [
            "-t",
            self.cluster_id or config.new_cluster_id(),
            "-c",
            str(self._props_path),
            "--ignore-formatted",
        ]
        cmd += format_arguments(self.security)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            output = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
            raise BrokerFailed(f"formatting {self.data_dir / 'kraft'} failed:\n{output}")

    def _spawn(self, java: Path, jars: Path) -> None:
        cmd = [*self._java_cmd(java, jars), "kafka.Kafka", str(self._props_path)]
        with (self._logs / "broker.out").open("ab") as out:
            # A new session: Ctrl-C in the terminal reaches pytest or the CLI, which then stop the broker.
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
                preexec_fn=process.die_with_parent_hook() if self._die_with_parent else None,
            )
        self._pid_file.write_text(f"{self._proc.pid}\n")
        _log.info(
            "kafka_started pid=%s bootstrap=%s data_dir=%s",
            self._proc.pid,
            self.bootstrap_servers,
            self.data_dir,
        )

    def _java_cmd(self, java: Path, jars: Path) -> list[str]:
        return [
            str(java),
            f"-Xmx{self.heap}",
            "-Xms128m",
            "-XX:+UseSerialGC",  # fewer GC threads: the dev/test machine is small and the heap tiny
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={_LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self._logs}",
            "-cp",
            f"{jars}/*",
        ]


def ping(bootstrap_servers: str, timeout: float = 2.0) -> bool:
    """Whether a broker at ``bootstrap_servers`` answers a metadata request within ``timeout`` seconds."""
    # librdkafka logs every refused connection; send those to a logger nobody shows.
    conf: dict[str, Any] = {"bootstrap.servers": bootstrap_servers, "logger": _QUIET}
    admin = AdminClient(conf)
    try:
        return bool(admin.list_topics(timeout=timeout).brokers)
    except KafkaException:  # timeout or transport error: "not yet"
        return False


def start_ephemeral(
    *,
    version: str = DEFAULT_KAFKA_VERSION,
    cache_dir: Path | None = None,
    timeout: float = 90.0,
    attempts: int = 3,
    progress: ProgressFn = None,
    users: tuple[ScramUser, ...] | None = None,
) -> LocalKafka:
    """A started broker on free ports with a fresh temporary data dir, tied to this process's life. Stop it
    with ``down(wipe=True)``. Retries when another process grabbed a port between our choice and the bind.

    With ``users``, the broker also serves a SASL_SSL listener (SCRAM-SHA-512, those users) and an SSL
    listener requiring a client certificate, with TLS material made for it in its data dir
    (``kafka.security.tls``)."""
    for attempt in range(1, attempts + 1):
        port, controller_port, sasl_port, mtls_port = free_ports("127.0.0.1", 4)
        data_dir = Path(tempfile.mkdtemp(prefix="pms-relay-kafka-"))
        security = None
        if users is not None:
            from deploy.local.tls import make_tls_files

            tls = make_tls_files(data_dir / "tls")
            security = BrokerSecurity(sasl_port=sasl_port, mtls_port=mtls_port, tls=tls, users=users)
        kafka = LocalKafka(
            version=version,
            data_dir=data_dir,
            cache_dir=cache_dir,
            port=port,
            controller_port=controller_port,
            die_with_parent=True,
            progress=progress,
            security=security,
        )
        try:
            kafka.up(wait=True, timeout=timeout)
            return kafka
        except BrokerFailed as exc:
            kafka.down(wipe=True)
            if attempt == attempts or "Address already in use" not in str(exc):
                raise
        except BaseException:
            kafka.down(wipe=True)
            raise
    raise AssertionError("unreachable")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())
