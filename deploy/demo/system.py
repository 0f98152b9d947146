"""The whole system on this machine, for the demo: a throwaway Kafka, the topics, the sandboxes, the
practice registry and the workers, all under one work dir, and all stopped by :meth:`DemoSystem.stop`.

Work dir layout (``~/.cache/pms-relay/demo/run-<time>-<id>/`` by default; the last few runs are kept)::

    kafka/            the broker's data dir (its log in kafka/logs/; the data is deleted at the end)
    practices.yaml    the registry: secrets as {env: ...} references only
    sandbox-*.log     the sandboxes' output        worker-*.log   the workers' logs
    zipkin.log        Zipkin's output (its traces are kept in its memory only, gone when it stops)
    dashboard.log     the dashboard's output
    alerts.yaml       the demo's alert settings (small thresholds, its own webhook receiver)
    alerts.log        the alerts service's output
    processes.json    every child process started (name, pid, command line)

Zipkin (the tracing UI) is launched first, since a JVM takes a while to start, and waited for before the
workers start, so their first spans have somewhere to go. The alerts service is launched once the topics exist
(it reads the status topic from the start) and waited for after the dashboard, which starts last.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from confluent_kafka.admin import AdminClient

from adapters.vendors import VENDORS
from deploy.demo.children import Child, Children
from deploy.demo.hook import AlertHook
from deploy.demo.registry import DX_PRACTICE, ES_PRACTICE, OD_PRACTICE, DemoRegistry, demo_registry
from deploy.demo.watch import TopicWatch
from deploy.local import LocalKafka
from deploy.local.errors import BrokerFailed
from deploy.local.jars import default_cache_root
from deploy.local.java import find_java
from deploy.local.ports import free_ports
from ops.alerts.service import ALERTS_READY
from ops.zipkin import ZipkinServer, fetch_zipkin, spans_endpoint
from streams.logs import WORKER_READY
from streams.retry import RetryTiers
from streams.topics import TopicNames, TopicSettings, ensure_topics, topic_specs

__all__ = ["DemoOptions", "DemoSystem", "default_work_root"]

_HOST = "127.0.0.1"


def default_work_root() -> Path:
    return default_cache_root() / "demo"


@dataclass(frozen=True)
class DemoOptions:
    work_root: Path
    workers: int = 1
    partitions: int = 3
    # Short tiers so that a command runs through all of them within the demo.
    retry_delays: tuple[float, ...] = (2.0, 5.0, 10.0)
    prefix: str = "demo."
    app_id: str = "pms-relay-demo"
    keep_runs: int = 5
    tracing: bool = True  # Zipkin, and the spans of the workers and of the demo's client sent to it
    status_interval: float = 2.0  # the workers' status records, for the dashboard and the alerts service


class DemoSystem:
    def __init__(self, options: DemoOptions, say: Callable[[str], None]) -> None:
        self.options = options
        self._say = say
        stamp = f"run-{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
        self.workdir = (options.work_root / stamp).resolve()
        self.workdir.mkdir(parents=True)
        _prune(options.work_root, keep=options.keep_runs)
        self.children = Children(self.workdir)
        self.topics = TopicNames(prefix=options.prefix, tiers=RetryTiers(options.retry_delays))
        self.registry_path = self.workdir / "practices.yaml"
        self.kafka: LocalKafka | None = None
        self.watch: TopicWatch | None = None
        self.sandboxes: dict[str, str] = {}  # vendor -> base URL
        self.summaries: dict[str, dict[str, Any]] = {}
        self.registry: DemoRegistry | None = None
        self.workers: list[Child] = []
        self.zipkin: ZipkinServer | None = None
        self._zipkin_started = 0.0
        self.dashboard_url: str | None = None
        self.alerts_path = self.workdir / "alerts.yaml"
        self.hook: AlertHook | None = None  # the webhook receiver the alerts service posts to

    @property
    def bootstrap_servers(self) -> str:
        assert self.kafka is not None
        return self.kafka.bootstrap_servers

    # -- start -----------------------------------------------------------------------------------------

    def start(self, workers: int) -> None:
        zipkin = self._launch_zipkin() if self.options.tracing else None
        self._start_kafka()
        self._create_topics()
        (dashboard_port,) = free_ports(_HOST, 1)  # now: the alerts service links to the dashboard
        alerts = self._launch_alerts(f"http://{_HOST}:{dashboard_port}/")
        for vendor in VENDORS:
            self._start_sandbox(vendor.name)
        self._write_registry()
        if zipkin is not None:
            self._wait_for_zipkin(zipkin)
        for index in range(workers):
            self._start_worker(index)
        self._start_dashboard(dashboard_port)
        self._wait_for_alerts(alerts)
        self.watch = TopicWatch(self.bootstrap_servers, self.topics.alerts, self.topics.dead_letters)
        self.watch.start()

    @property
    def zipkin_url(self) -> str | None:
        return self.zipkin.url if self.zipkin is not None else None

    def _launch_zipkin(self) -> Child:
        started = time.monotonic()
        server = ZipkinServer(
            fetch_zipkin(progress=self._say), free_ports(_HOST, 1)[0], self.workdir / "zipkin"
        )
        env = {**os.environ, "STORAGE_TYPE": "mem"}
        child = self.children.spawn("zipkin", server.command(find_java(env)), env)
        self.zipkin, self._zipkin_started = server, started
        return child

    def _wait_for_zipkin(self, child: Child) -> None:
        assert self.zipkin is not None
        child.wait_until(self.zipkin.healthy, timeout=180, what="UP on /health")
        self._say(
            f"Zipkin at {self.zipkin.url}/zipkin/ (pid {child.pid}, traces in memory) "
            f"in {time.monotonic() - self._zipkin_started:.1f}s"
        )

    def _start_dashboard(self, port: int) -> None:
        url = f"http://{_HOST}:{port}/"
        args = [
            sys.executable, "-m", "cli", "dashboard",
            "--bootstrap-servers", self.bootstrap_servers,
            "--prefix", self.options.prefix,
            "--app-id", self.options.app_id,
            "--host", _HOST,
            "--port", str(port),
            "--refresh", "2",
            "--status-interval", f"{self.options.status_interval:g}",
        ]  # fmt: skip
        if self.zipkin is not None:
            args += ["--zipkin-url", self.zipkin.url]
        child = self.children.spawn("dashboard", args)

        def answers() -> bool:
            try:
                return httpx.get(f"{url}health", timeout=1.0).status_code in (200, 503)
            except httpx.HTTPError:
                return False

        child.wait_until(answers, timeout=30, what="answer on /health")
        self.dashboard_url = url
        self._say(f"dashboard at {url} (pid {child.pid}, refreshes every 2 s)")

    def _launch_alerts(self, dashboard_url: str) -> Child:
        self.hook = AlertHook(_HOST)
        self.hook.start()
        self.alerts_path.write_text(_alerts_yaml(self.hook.url, self.options.status_interval))
        args = [
            sys.executable, "-m", "cli", "alerts", "run",
            "--config", str(self.alerts_path),
            "--bootstrap-servers", self.bootstrap_servers,
            "--prefix", self.options.prefix,
            "--app-id", self.options.app_id,
            "--instance-id", "demo-alerts",
            "--dashboard-url", dashboard_url,
            "--session-timeout", "6",  # the least: a leader that went with a previous run is replaced soon
        ]  # fmt: skip
        if self.zipkin is not None:
            args += ["--zipkin-url", self.zipkin.url]
        return self.children.spawn("alerts", args)

    def _wait_for_alerts(self, child: Child) -> None:
        assert self.hook is not None
        child.wait_until(
            lambda: ALERTS_READY in child.log_text(), timeout=60, what="'alerts ready' in its log"
        )
        self._say(
            f"alerts service (pid {child.pid}, settings {self.alerts_path}) posting to the demo's webhook "
            f"receiver {self.hook.url}"
        )

    def _start_kafka(self, attempts: int = 3) -> None:
        started = time.monotonic()
        for attempt in range(1, attempts + 1):
            port, controller_port = free_ports(_HOST, 2)
            kafka = LocalKafka(
                data_dir=self.workdir / "kafka",
                port=port,
                controller_port=controller_port,
                die_with_parent=True,
                progress=self._say,
            )
            self.kafka = kafka
            try:
                kafka.up(wait=True, timeout=120)
                break
            except BrokerFailed as exc:
                kafka.down()
                if attempt == attempts or "Address already in use" not in str(exc):
                    raise
        self._say(
            f"Kafka {self.kafka.version if self.kafka else ''} at {self.bootstrap_servers} "
            f"(data {self.workdir / 'kafka'}) in {time.monotonic() - started:.1f}s"
        )

    def _create_topics(self) -> None:
        settings = TopicSettings(
            prefix=self.options.prefix,
            command_partitions=self.options.partitions,
            result_partitions=self.options.partitions,
            error_partitions=self.options.partitions,
            retry_delays=self.options.retry_delays,
            app_id=self.options.app_id,
        )
        outcomes = ensure_topics(
            AdminClient({"bootstrap.servers": self.bootstrap_servers}), topic_specs(settings)
        )
        self._say(
            f"{len(outcomes)} topics under prefix '{self.options.prefix}' (retry tiers {self._tiers()})"
        )

    def _start_sandbox(self, vendor: str) -> None:
        (port,) = free_ports(_HOST, 1)
        url = f"http://{_HOST}:{port}"
        args = [sys.executable, "-m", "cli", "sandbox", vendor, "--host", _HOST, "--port", str(port)]
        child = self.children.spawn(f"sandbox-{vendor}", args)
        summary: dict[str, Any] = {}

        def answers() -> bool:
            try:
                response = httpx.get(f"{url}/_admin/summary", timeout=1.0)
            except httpx.HTTPError:
                return False
            if response.status_code == 200:
                summary.update(response.json())
            return bool(summary)

        child.wait_until(answers, timeout=30, what="answer on /_admin/summary")
        self.sandboxes[vendor] = url
        self.summaries[vendor] = summary
        self._say(f"{vendor} sandbox at {url} (pid {child.pid}, admin {url}/_admin/faults)")

    def _write_registry(self) -> None:
        self.registry = demo_registry(
            self.sandboxes["dentrix"],
            self.summaries["dentrix"],
            self.sandboxes["eaglesoft"],
            self.summaries["eaglesoft"],
            self.sandboxes.get("opendental"),
            self.summaries.get("opendental"),
        )
        header = (
            "# Written by `pms-relay demo`: secrets are {env: ...} references, set for the workers only.\n"
        )
        self.registry_path.write_text(header + yaml.safe_dump(self.registry.document, sort_keys=False))
        self._say(
            f"practice registry {self.registry_path}: {DX_PRACTICE} (Dentrix), {ES_PRACTICE} (Eaglesoft), "
            f"{OD_PRACTICE} (Open Dental)"
        )

    def _start_worker(self, index: int) -> None:
        assert self.registry is not None
        args = [
            sys.executable, "-m", "cli", "worker",
            "--config", str(self.registry_path),
            "--bootstrap-servers", self.bootstrap_servers,
            "--prefix", self.options.prefix,
            "--app-id", self.options.app_id,
            "--partitions", str(self.options.partitions),
            "--retry-delays", self._tiers(),
            "--reconcile-grace", "5",
            "--status-interval", f"{self.options.status_interval:g}",
            "--web-port", str(web_port := free_ports(_HOST, 1)[0]),
        ]  # fmt: skip
        env = {**os.environ, **self.registry.secrets, **self._tracing_env("pms-relay-worker")}
        child = self.children.spawn(f"worker-{index}", args, env)
        self.workers.append(child)
        started = time.monotonic()
        child.wait_until(lambda: WORKER_READY in child.log_text(), timeout=90, what="'Ready' in its log")
        health = f"http://{_HOST}:{web_port}/health/live"
        child.wait_until(lambda: _answers_200(health), timeout=30, what=f"UP on {health}")
        self._say(
            f"worker {index} ready (pid {child.pid}, log {child.log}, health {health}) "
            f"in {time.monotonic() - started:.1f}s"
        )

    def _tracing_env(self, service: str) -> dict[str, str]:
        """The OTEL_* variables that send a process's spans to the demo's Zipkin (tracing off without it)."""
        if self.zipkin is None:
            return {"OTEL_TRACES_EXPORTER": "none"}
        return {
            "OTEL_TRACES_EXPORTER": "zipkin",
            "OTEL_EXPORTER_ZIPKIN_ENDPOINT": spans_endpoint(self.zipkin.url),
            "OTEL_SERVICE_NAME": service,
            "OTEL_BSP_SCHEDULE_DELAY": "500",  # a span shows in Zipkin within a second
        }

    def tracing_env(self) -> dict[str, str]:
        """For the demo's own process: its client's spans start each command's trace."""
        return self._tracing_env("pms-relay-demo")

    def _tiers(self) -> str:
        return ",".join(f"{delay:g}" for delay in self.options.retry_delays)

    # -- stop ------------------------------------------------------------------------------------------

    def stop(self) -> list[str]:
        """Stop everything started, workers first and the broker last; returns what had to be killed."""
        if self.watch is not None:
            self.watch.stop()
        killed = self.children.stop_all(timeout=20)
        if self.hook is not None:  # after the alerts service: its last sends still get an answer
            self.hook.stop()
        if self.kafka is not None:
            self.kafka.down(timeout=30)
            shutil.rmtree(self.workdir / "kafka" / "kraft", ignore_errors=True)
        return killed

    # -- pointers --------------------------------------------------------------------------------------

    def pointers(self, running: bool) -> list[str]:
        bootstrap = self.bootstrap_servers if self.kafka is not None else "?"
        send = f"pms-relay send list-locations --practice {DX_PRACTICE} --bootstrap-servers {bootstrap} --prefix {self.options.prefix}"
        lines = [
            f"topics:      {self.topics.commands} → {self.topics.results} / {self.topics.errors}; "
            f"retries {', '.join(self.topics.retries)}; dead letters {self.topics.dead_letters}; "
            f"alerts {self.topics.alerts}",
            f"try:         {send}" + ("" if running else "   (with `pms-relay demo --keep-running`)"),
            f"             practices: {DX_PRACTICE} (Dentrix), {ES_PRACTICE} (Eaglesoft), {OD_PRACTICE} (Open Dental)",
        ]
        for vendor, url in self.sandboxes.items():
            lines.append(
                f"{vendor + ':':<12} {url}/_admin/summary  {url}/_admin/faults  {url}/_admin/requests"
            )
        until = "" if running else "   (while the demo runs: --keep-running)"
        if self.dashboard_url is not None:
            lines.append(f"dashboard:   {self.dashboard_url}{until}")
        if self.zipkin is not None:
            lines.append(f"zipkin:      {self.zipkin.url}/zipkin/{until}")
        if self.hook is not None:
            lines.append(f"alerts:      {self.alerts_path} → webhook {self.hook.url}{until}")
        lines.append(f"logs:        {', '.join(str(child.log) for child in self.children)}")
        lines.append(f"             kafka: {self.workdir / 'kafka' / 'logs' / 'server.log'}")
        lines.append(f"registry:    {self.registry_path}")
        return lines


# The demo's alert settings: README "Alerts" has the defaults (a circuit open for 5 minutes pages); these are
# seconds, so the scenario's sustained 503s on Eaglesoft (its circuit opens, then closes once the PMS recovers,
# within about ten seconds) fire the circuit alert and resolve it while the demo runs.
_ALERTS_YAML = """\
# Written by `pms-relay demo`: the demo's settings, not production ones (README "Alerts" has the defaults).
thresholds:
  circuit_open_s: 1          # default 300: the demo's circuit stays open for a few seconds only
sinks:
  - kind: webhook            # the demo's own receiver (a thread of the demo), which prints what it gets
    name: demo-hook
    url: {url}
grouping:
  wait_s: 0                  # default 30: send each alert at once
  interval_s: 0              # default 300: and its resolution too
delivery:
  attempts: 3
  initial_s: 0.2
evaluate_interval_s: 1       # default 10
status_interval_s: {status:g}        # the demo workers' --status-interval
"""


def _alerts_yaml(hook_url: str, status_interval: float) -> str:
    return _ALERTS_YAML.format(url=hook_url, status=status_interval)


def _prune(root: Path, keep: int) -> None:
    runs = sorted((p for p in root.glob("run-*") if p.is_dir()), key=lambda p: p.name)
    for old in runs[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _answers_200(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
