"""``pms-relay demo`` end to end, as a user runs it: a subprocess that starts Kafka, both sandboxes and a worker,
drives the scenario, and must leave no process behind. Plus table tests of the demo's pure helpers."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.domain import Appointment, AppointmentStatus
from deploy.demo import CHECKS
from deploy.demo.hook import AlertHook
from deploy.demo.registry import demo_registry
from deploy.demo.scenario import DEMO_PATIENT
from deploy.demo.slots import free_slots, next_week
from deploy.demo.system import _alerts_yaml
from ops.alerts.settings import load_settings
from tests.relay_system import wait_until

_ROOT = Path(__file__).resolve().parents[2]


def _run_demo(work_root: Path, *args: str) -> tuple[int, str]:
    # A wide console, so rich never wraps a summary row; cwd anywhere: the demo must not depend on it.
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "demo", "--work-dir", str(work_root), *args],
        capture_output=True,
        text=True,
        timeout=200,
        env=env,
        cwd=_ROOT,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def _run_dirs(work_root: Path) -> list[Path]:
    return sorted(p for p in work_root.glob("run-*") if p.is_dir())


def _alive(pid: int, args: list[str]) -> bool:
    """Whether ``pid`` still runs the command the demo started (a recycled pid does not count)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return [part.decode() for part in cmdline if part] == args


_TRACE_URL = r"(http://127\.0\.0\.1:\d+)/zipkin/traces/([0-9a-f]{32})"


def _assert_nothing_left(work_root: Path, run_dir: Path) -> None:
    started = json.loads((run_dir / "processes.json").read_text())
    assert {child["name"] for child in started} >= {
        "sandbox-dentrix", "sandbox-eaglesoft", "sandbox-opendental", "worker-0", "zipkin", "dashboard", "alerts",
    }  # fmt: skip
    assert [c["name"] for c in started if _alive(c["pid"], c["args"])] == []
    # Workers and the broker carry the work dir in their command lines.
    left = subprocess.run(["pgrep", "-af", str(work_root)], capture_output=True, text=True, check=False)
    assert left.stdout.strip() == ""


@pytest.fixture(scope="module")
def work_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo")


def _assert_every_outcome_shown(output: str) -> None:
    """The scenario's screen: every check PASS, each outcome as the receptionist's platform saw it."""
    for label in CHECKS.values():
        assert re.search(re.escape(label) + r"\s*│\s*PASS", output), f"{label!r} not PASS:\n{output[-4000:]}"
    assert "not found -> created" in output
    assert re.search(r"search during a 503 burst\s*│\s*result\s*│\s*2\s*│", output)
    assert "closed → open" in output
    # The alerts service's posts to the demo's receiver: the circuit alert, then its resolution.
    # (The key ends with the PMS kind as the worker's status record spells it: case-insensitive here.)
    posted = re.findall(
        r"webhook (firing|resolved): pms-relay:circuit_open:es-demo:eaglesoft\b", output, re.I
    )
    assert posted[:2] == ["firing", "resolved"], output[-4000:]
    assert re.search(r"while the PMS keeps failing\s*│\s*UNAVAILABLE\s*│\s*4\s*│", output)
    assert "dead letter on demo.pms.commands.dlt" in output
    assert "pms-error-code=UNAVAILABLE" in output
    assert re.search(r"│\s*DEADLINE_EXCEEDED\s*│", output)
    assert "demo OK" in output
    assert re.search(r"dashboard:\s+http://127\.0\.0\.1:\d+/", output)
    assert re.search(r"zipkin:\s+http://127\.0\.0\.1:\d+/zipkin/", output)
    assert re.search(r"trace:\s+the command that retried: " + _TRACE_URL, output)
    assert re.search(r"trace:\s+the command that was dead-lettered: " + _TRACE_URL, output)
    assert "Receptionist at od-demo (Open Dental)" in output


def _assert_no_patient_data_and_secrets_by_reference(run_dir: Path) -> None:
    # The demo's own screen shows its made-up patient; no log of the system may.
    phi = (DEMO_PATIENT.first_name, DEMO_PATIENT.last_name, str(DEMO_PATIENT.date_of_birth), "5550107788")
    for log in [*run_dir.glob("*.log"), *run_dir.glob("kafka/logs/*")]:
        text = log.read_text(errors="replace")
        assert not [value for value in phi if value in text], log
    registry = (run_dir / "practices.yaml").read_text()
    assert "env: PMS_RELAY_DEMO_DX_CLIENT_SECRET" in registry
    assert "env: PMS_RELAY_DEMO_ES_PASSWORD" in registry
    assert "env: PMS_RELAY_DEMO_OD_CUSTOMER_KEY" in registry
    assert "circuit_open_s: 1" in (run_dir / "alerts.yaml").read_text()  # the demo's settings, kept


class _Demo:
    """``pms-relay demo --keep-running`` as a newcomer runs it: its screen read line by line as it goes."""

    def __init__(self, work_root: Path) -> None:
        env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", "demo", "--work-dir", str(work_root), "--keep-running"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=_ROOT,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def url(self, pattern: str) -> str:
        match = re.search(pattern, self.output)
        assert match is not None, f"{pattern!r} not on the screen:\n{self.output[-4000:]}"
        return match.group(1)


def _spans(zipkin: str, trace_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{zipkin}/api/v2/trace/{trace_id}", timeout=5)
    return list(response.json()) if response.status_code == 200 else []


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_demo_shows_every_outcome_then_serves_the_dashboard_and_the_traces_until_ctrl_c(
    work_root: Path,
) -> None:
    # One run with faults checks both what the scenario shows and what stays up after it (the demo ending on
    # its own, and leaving nothing behind then, is test_demo_runs_again_right_after's): a full run costs a
    # minute of the suite.
    before = _run_dirs(work_root)
    demo = _Demo(work_root)
    try:
        wait_until(lambda: "everything keeps running" in demo.output or demo.process.poll() is not None,
                   timeout=240, what="the demo to finish its scenario")  # fmt: skip
        assert "demo OK" in demo.output, demo.output[-6000:]
        _assert_every_outcome_shown(demo.output)
        dashboard = demo.url(r"dashboard:\s+(http://127\.0\.0\.1:\d+/)")
        zipkin = demo.url(r"zipkin:\s+(http://127\.0\.0\.1:\d+)/zipkin/")
        retried = demo.url(r"the command that retried: http://\S+/zipkin/traces/([0-9a-f]{32})")
        lettered = demo.url(r"the command that was dead-lettered: http://\S+/zipkin/traces/([0-9a-f]{32})")

        # The dashboard shows both practices, the worker, the alerts and the dead letter, from Kafka.
        def shown() -> bool:
            data = httpx.get(f"{dashboard}api/snapshot", timeout=5).json()
            practices = {p["status"]["practice_id"]: p for p in data["practices"]}
            return (
                {"dx-demo", "es-demo"} <= set(practices)
                and practices["es-demo"]["status"]["circuit"] == "closed"
                and len(data["workers"]) == 1
                and data["dead_letter_depth"] == 1
                and {a["new"] for a in data["alerts"]} >= {"open", "closed"}
            )

        wait_until(shown, timeout=30, what="the demo's cluster on the dashboard", interval=0.5)
        snapshot = httpx.get(f"{dashboard}api/snapshot", timeout=5).json()
        assert snapshot["dead_letters"][0]["trace_url"] == f"{zipkin}/zipkin/traces/{lettered}"
        page = httpx.get(dashboard, timeout=5).text
        assert 'data-practice="dx-demo"' in page
        assert [v for v in (DEMO_PATIENT.first_name, DEMO_PATIENT.last_name) if v in page] == []

        # Zipkin holds each printed trace: the receptionist's span, then every hop of the command.
        retry_spans = _spans(zipkin, retried)
        services = {s["localEndpoint"]["serviceName"] for s in retry_spans}
        assert services == {"pms-relay-demo", "pms-relay-worker"}
        consumed = {s["name"] for s in retry_spans if s.get("kind") == "CONSUMER"}
        assert consumed == {"process demo.pms.commands", "process demo.pms.commands.retry.2s"}
        lettered_spans = _spans(zipkin, lettered)
        assert "send demo.pms.commands.dlt" in {
            s["name"] for s in lettered_spans if s.get("kind") == "PRODUCER"
        }
        assert len([s for s in lettered_spans if s.get("kind") == "CONSUMER"]) == 4  # every tier
        text = repr([(s.get("name"), s.get("tags")) for s in retry_spans + lettered_spans])
        assert [v for v in (DEMO_PATIENT.first_name, DEMO_PATIENT.last_name) if v in text] == []

        demo.process.send_signal(signal.SIGINT)  # Ctrl-C
        assert demo.process.wait(90) == 0, demo.output[-4000:]
    finally:
        if demo.process.poll() is None:
            demo.process.kill()
    (run_dir,) = set(_run_dirs(work_root)) - set(before)
    assert "all stopped" in demo.output
    _assert_nothing_left(work_root, run_dir)
    _assert_no_patient_data_and_secrets_by_reference(run_dir)
    wait_until(lambda: not _answers(dashboard), timeout=5, what="the dashboard to be gone")


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return False
    return True


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_demo_runs_again_right_after(work_root: Path) -> None:
    """A second run in a row (here without faults and with two workers) starts on fresh ports and topics, and
    ending on its own leaves nothing behind."""
    before = _run_dirs(work_root)
    code, output = _run_demo(work_root, "--no-faults", "--workers", "2")

    assert code == 0, output[-6000:]
    assert re.search(re.escape(CHECKS["result"]) + r"\s*│\s*PASS", output)
    assert re.search(re.escape(CHECKS["dead_letter"]) + r"\s*│\s*skipped", output)
    assert re.search(re.escape(CHECKS["circuit_alert"]) + r"\s*│\s*skipped", output)
    (run_dir,) = set(_run_dirs(work_root)) - set(before)
    _assert_nothing_left(work_root, run_dir)


# -- the pure helpers ----------------------------------------------------------------------------------------


def _booked(operatory: str, start: datetime, end: datetime, status: AppointmentStatus) -> Appointment:
    minutes = int((end - start).total_seconds() // 60)
    return Appointment(
        id="1",
        patient_id="p",
        location_id="l",
        operatory_id=operatory,
        start=start,
        end=end,
        duration_minutes=minutes,
        status=status,
    )


@pytest.mark.parametrize(
    ("today", "monday"),
    [
        (date(2026, 11, 26), date(2026, 11, 30)),  # a Thursday
        (date(2026, 11, 30), date(2026, 12, 7)),  # a Monday: next week, not this one
        (date(2026, 12, 6), date(2026, 12, 7)),  # a Sunday
    ],
)
def test_next_week(today: date, monday: date) -> None:
    assert next_week(today) == (monday, date.fromordinal(monday.toordinal() + 4))


_DAY = date(2026, 11, 30)
_NY_9 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # 09:00 in New York
_NY_930 = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)
_NY_10 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("booked", "first"),
    [
        ([], _NY_9),
        ([_booked("op1", _NY_9, _NY_930, AppointmentStatus.CONFIRMED)], _NY_930),
        ([_booked("op1", _NY_9, _NY_10, AppointmentStatus.SCHEDULED)], _NY_10),
        ([_booked("op1", _NY_9, _NY_930, AppointmentStatus.CANCELLED)], _NY_9),  # a cancelled one frees it
        ([_booked("op2", _NY_9, _NY_10, AppointmentStatus.SCHEDULED)], _NY_9),  # another operatory
    ],
)
def test_free_slots_skip_live_appointments_of_the_operatory(
    booked: list[Appointment], first: datetime
) -> None:
    slots = free_slots(booked, "op1", [_DAY], "America/New_York")

    assert slots[0][0] == first
    assert all(end > start for start, end in slots)
    assert slots[-1][1] == datetime(2026, 11, 30, 22, 0, tzinfo=UTC)  # 17:00 in New York


def test_registry_keeps_secrets_out_of_the_document() -> None:
    dentrix = {
        "clients": [{"clientId": "cid", "clientSecret": "dx-secret", "organizationIds": ["a" * 24]}],
        "organizations": [{"id": "a" * 24, "locations": [{"timeZone": "America/New_York"}]}],
    }
    eaglesoft = {
        "credentials": {"IntegrationKey": "es-key", "UserId": "relay", "Password": "es-pass"},
        "serverZone": "America/New_York",
        "practices": [{"PracticeId": 1, "timeZone": "America/Chicago"}],
    }
    registry = demo_registry("http://dx", dentrix, "http://es", eaglesoft)

    text = json.dumps(registry.document)
    assert not [secret for secret in ("dx-secret", "es-key", "es-pass") if secret in text]
    assert set(registry.secrets.values()) == {"dx-secret", "es-key", "es-pass"}
    practices = registry.document["practices"]
    assert practices["dx-demo"]["connection"]["client_secret"] == {"env": "PMS_RELAY_DEMO_DX_CLIENT_SECRET"}
    assert practices["es-demo"]["time_zone"] == "America/Chicago"


def test_the_demo_alert_settings_load(tmp_path: Path) -> None:
    """The alerts.yaml the demo writes is valid (the service would exit 2 on it otherwise), with its small values."""
    path = tmp_path / "alerts.yaml"
    path.write_text(_alerts_yaml("http://127.0.0.1:9/alerts", 2.0))

    settings = load_settings(path)
    assert settings.thresholds.circuit_open_s == 1
    assert settings.status_interval_s == 2
    assert [sink.name for sink in settings.sinks] == ["demo-hook"]


def test_the_demo_hook_keeps_ids_and_tells_fired_then_resolved() -> None:
    hook = AlertHook()
    hook.start()
    try:

        def post(status: str) -> None:
            alert = {"dedup_key": "k", "status": status, "condition": "circuit_open", "practice_id": "es-demo",
                     "pms": "eaglesoft", "summary": "not kept"}  # fmt: skip
            httpx.post(hook.url, json={"alerts": [alert]}, timeout=5).raise_for_status()

        post("resolved")  # a resolution with no firing before it does not count
        assert not hook.fired_and_resolved("circuit_open", "es-demo")
        post("firing")
        post("resolved")
        assert hook.fired_and_resolved("circuit_open", "es-demo")
        assert not hook.fired_and_resolved("circuit_open", "dx-demo")
        assert "not kept" not in repr(hook.alerts())
        httpx.post(hook.url, content=b"not json", timeout=5).raise_for_status()  # ignored, still 200
    finally:
        hook.stop()
