"""``pms-relay dashboard`` on a real broker: records in the status contract's shape (the demo's practices, one
with an open circuit), alerts, dead letters and a lagging group are produced to real topics; the feed reads
them; a real HTTP server serves the page; and a real headless browser (Debian's chromium) renders it, runs
its refresh script, and writes a screenshot under the test's output."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from deploy.local.ports import free_ports
from ops.dashboard import DashboardSettings, Feed, build_app
from ops.dashboard.levels import Thresholds
from ops.dashboard.sample import OPEN, sample_records
from streams.topics import TopicNames, TopicSettings, ensure_topics, topic_specs
from tests.relay_system import wait_until

pytestmark = pytest.mark.integration

_ROOT = Path(__file__).resolve().parents[2]
_LETTER_ID = "5f0c8a7e-3d1b-4f6e-9a2c-7b8d9e0f1a2b"
_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
_BEHIND_S = 40.0  # how old the group's oldest unconsumed command is


class _Server:
    def __init__(self, app: object, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> _Server:
        self._thread.start()
        wait_until(lambda: self._server.started, timeout=15, what="the dashboard's HTTP server")
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)


def _seed(bootstrap: str, names: TopicNames, group: str) -> None:
    """What a running demo leaves on its topics: status records, alerts, a dead letter, unconsumed commands."""
    now = datetime.now(UTC)
    producer = Producer({"bootstrap.servers": bootstrap})
    for key, value in sample_records(12, now):
        producer.produce(names.status, key=key, value=value)
    producer.produce(names.status, key=b"worker|gone-1", value=b'{"worker_id": "gone-1"}')  # not a record
    producer.produce(names.status, key=b"worker|gone-1", value=None)  # a worker that stopped cleanly
    for old, new in (("closed", "open"), ("open", "half-open")):
        body = {"type": "circuit", "practice_id": OPEN, "pms": "eaglesoft", "from": old, "to": new,
                "failures": 5, "at": now.isoformat()}  # fmt: skip
        producer.produce(names.alerts, key=OPEN.encode(), value=json.dumps(body).encode())
    headers = [
        ("ce_id", _LETTER_ID.encode()), ("ce_type", b"pms.command.ListAppointments.v1"),
        ("pms-attempts", b"4"), ("pms-hop", b"3"), ("pms-first-seen", now.isoformat().encode()),
        ("pms-origin-topic", names.commands.encode()), ("pms-origin-partition", b"0"),
        ("pms-origin-offset", b"0"), ("pms-error-code", b"UNAVAILABLE"),
        ("traceparent", f"00-{_TRACE}-00f067aa0ba902b7-01".encode()),
    ]  # fmt: skip
    producer.produce(names.dead_letters, key=b"dx-demo", value=b"(the command: never read)", headers=headers)
    old = int((time.time() - _BEHIND_S) * 1000)
    for n in range(5):
        producer.produce(names.commands, key=b"dx-demo", value=b"x", partition=0, timestamp=old + n)
    assert producer.flush(15) == 0
    # The workers' group has consumed the first two commands of partition 0 (committed without joining).
    committer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})

    def committed() -> bool:  # a fresh broker may still be electing the group's coordinator
        try:
            committer.commit(offsets=[TopicPartition(names.commands, 0, 2)], asynchronous=False)
        except KafkaException:
            return False
        return True

    wait_until(committed, timeout=30, what="the group's commit", interval=0.5)
    committer.close()


@pytest.fixture(scope="module")
def dashboard(kafka_bootstrap: str) -> Iterator[_Server]:
    prefix, group = f"dash{uuid.uuid4().hex[:8]}.", f"relay-{uuid.uuid4().hex[:8]}"
    topic_settings = TopicSettings(prefix=prefix, command_partitions=3, result_partitions=3, error_partitions=3,
                                   retry_delays=(2.0, 5.0, 10.0), app_id=group)  # fmt: skip
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), topic_specs(topic_settings))
    _seed(kafka_bootstrap, topic_settings.names, group)
    settings = DashboardSettings(
        bootstrap_servers=kafka_bootstrap,
        prefix=prefix,
        group=group,
        zipkin_url="http://127.0.0.1:9411",
        refresh_s=1.0,
        lag_interval_s=1.0,
        thresholds=Thresholds(status_interval_s=60.0),  # the seeded records stay fresh for the module
    )
    feed = Feed(settings, {"bootstrap.servers": kafka_bootstrap})
    feed.start()
    assert feed.wait_until_caught_up(30), "the feed read the status topic to its end"
    with _Server(build_app(settings, feed), free_ports("127.0.0.1", 1)[0]) as server:
        wait_until(lambda: _lag_measured(server), timeout=30, what="the first lag probe")
        yield server
    feed.stop()


def _lag_measured(server: _Server) -> bool:
    lag = httpx.get(server.url + "api/snapshot", timeout=5).json()["lag"]
    return lag is not None and lag["seconds"] is not None and lag["records"] > 0


# -- plain HTTP, against the real feed ---------------------------------------------------------------------


def test_snapshot_holds_what_the_topics_hold(dashboard: _Server) -> None:
    data = httpx.get(dashboard.url + "api/snapshot", timeout=5).json()

    assert len(data["practices"]) == 12
    assert data["practices"][0]["status"]["practice_id"] == OPEN
    assert data["practices"][0]["level"] == "red"
    assert {w["status"]["worker_id"] for w in data["workers"]} == {
        "relay-a-4242",
        "relay-b-4243",
    }  # gone-1 left
    assert data["workers"][0]["throughput"]["in_per_s"] > 0  # two records of each worker: a rate
    assert [(a["old"], a["new"]) for a in data["alerts"]] == [("open", "half-open"), ("closed", "open")]
    assert data["dead_letter_depth"] == 1
    (letter,) = data["dead_letters"]
    assert letter["letter"]["command_id"] == _LETTER_ID
    assert letter["letter"]["code"] == "UNAVAILABLE"
    assert letter["trace_url"] == f"http://127.0.0.1:9411/zipkin/traces/{_TRACE}"
    assert f"--command-id {_LETTER_ID}" in letter["redrive"]
    lag = data["lag"]
    assert lag["records"] == 3  # 5 produced on partition 0, 2 committed
    assert _BEHIND_S - 1 <= lag["seconds"] < _BEHIND_S + 60
    alerting = data["alerting"]  # the alerts service's records share the status topic
    assert (alerting["level"], alerting["undelivered"], alerting["leader"]["instance_id"]) == (
        "red",
        1,
        "alerts-a-5151",
    )
    assert alerting["failures"][0]["sink"] == "slack"
    assert data["skipped"] == 1  # gone-1's record, not in the contract's shape, is skipped, not half-shown


def test_page_live_health_and_static_over_http(dashboard: _Server) -> None:
    page = httpx.get(dashboard.url, timeout=5)
    live = httpx.get(dashboard.url + "live", timeout=5)
    health = httpx.get(dashboard.url + "health", timeout=5)
    script = httpx.get(dashboard.url + "static/refresh.js", timeout=5)
    css = httpx.get(dashboard.url + "static/dashboard.css", timeout=5)

    assert page.status_code == 200
    assert f'data-practice="{OPEN}" data-level="red"' in page.text
    assert "(the command: never read)" not in page.text
    assert live.status_code == 200
    assert "<html" not in live.text
    assert health.status_code == 200
    assert health.json()["status"] == "UP"
    assert health.json()["components"]["status_topic"]["details"]["caught_up"] is True
    assert script.status_code == 200
    assert css.status_code == 200


# -- a real browser ------------------------------------------------------------------------------------------


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
    return found


def _browse(chromium: str, *args: str, url: str) -> subprocess.CompletedProcess[str]:
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", "--window-size=1366,900", *args, url]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


def test_a_real_browser_renders_the_page_red_where_a_circuit_is_open(
    dashboard: _Server, tmp_path: Path
) -> None:
    chromium = _chromium()
    # The DOM after the page's own script ran for a few (virtual) seconds: it refreshed itself from /live.
    dom = _browse(chromium, "--virtual-time-budget=5000", "--dump-dom", url=dashboard.url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert f'data-practice="{OPEN}" data-level="red"' in html
    refreshes = int(html.split('data-refreshes="', 1)[1].split('"', 1)[0])
    assert refreshes >= 1, "the bundled script swapped in /live at least once"
    assert '<span id="stale" hidden' in html
    assert 'id="undelivered"' in html, "the undelivered-alert banner survives the refresh"

    shot = tmp_path / "dashboard.png"
    done = _browse(chromium, "--virtual-time-budget=2000", f"--screenshot={shot}", url=dashboard.url)
    assert done.returncode == 0, done.stderr[-2000:]
    width, height, pixels = _read_png(shot.read_bytes())
    assert (width, height) == (1366, 900)
    colours = _count(pixels)
    assert colours.get((0xFC, 0xE8, 0xE6), 0) > 2000, "the open circuit's row is painted red"
    assert colours.get((0xC5, 0x22, 0x1F), 0) > 50, "red dots and the red bar"
    if _updating_readme():
        shutil.copy(shot, _ROOT / "docs" / "dashboard.png")


def _updating_readme() -> bool:
    """``PMS_RELAY_UPDATE_SCREENSHOT=1`` also copies the screenshot to docs/dashboard.png (the README's)."""
    return os.environ.get("PMS_RELAY_UPDATE_SCREENSHOT") == "1"


# -- PNG, decoded without an image library (8-bit RGB/RGBA, non-interlaced: what chromium writes) -------------


def _read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8
    assert colour in (2, 6)
    assert header[12] == 0  # not interlaced
    channels = 3 if colour == 2 else 4
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        start = y * (stride + 1)
        rows.append(
            bytes(previous := _unfilter(raw[start], raw[start + 1 : start + 1 + stride], previous, channels))
        )
    return width, height, [bytes(row[i : i + 3]) for row in rows for i in range(0, len(row), channels)]


def _unfilter(kind: int, line: bytes, above: bytearray, bpp: int) -> bytearray:
    out = bytearray(line)
    for i in range(len(out)):
        left = out[i - bpp] if i >= bpp else 0
        up = above[i]
        corner = above[i - bpp] if i >= bpp else 0
        if kind == 1:
            out[i] = (out[i] + left) & 0xFF
        elif kind == 2:
            out[i] = (out[i] + up) & 0xFF
        elif kind == 3:
            out[i] = (out[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            estimate = left + up - corner
            pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
            out[i] = (out[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
    return out


def _count(pixels: list[bytes]) -> dict[tuple[int, int, int], int]:
    counts: dict[tuple[int, int, int], int] = {}
    for pixel in pixels:
        key = (pixel[0], pixel[1], pixel[2])
        counts[key] = counts.get(key, 0) + 1
    return counts
