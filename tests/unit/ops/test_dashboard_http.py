"""Every endpoint of the dashboard over HTTP (httpx through the ASGI app; no Kafka: a fixed state)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ops.dashboard import DashboardSettings, build_app
from ops.dashboard.sample import OPEN, FixedSource, sample_state
from ops.dashboard.state import ClusterState

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
SETTINGS = DashboardSettings(zipkin_url="http://127.0.0.1:9411", prefix="demo.", group="pms-relay-demo")


class _Down(FixedSource):
    def health(self) -> dict[str, Any]:
        return {"status": "DOWN", "components": {"kafka": {"status": "DOWN"}}}


async def _client(source: FixedSource) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(SETTINGS, source, clock=lambda: NOW)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dashboard"
    ) as client:
        yield client


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(FixedSource(sample_state(30, NOW))):
        yield c


async def test_the_page_shows_the_cluster_worst_first(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    rows = re.findall(r'data-practice="([^"]+)" data-level="(red|amber|green)"', page)
    assert len(rows) == 30
    assert rows[0] == (OPEN, "red")
    order = {"red": 0, "amber": 1, "green": 2}
    assert [order[level] for _, level in rows] == sorted(order[level] for _, level in rows)
    assert 'href="http://127.0.0.1:9411/zipkin/traces/' in page
    assert "pms-relay dlq redrive --command-id 5f0c8a7e-3d1b-4f6e-9a2c-7b8d9e0f1a2b" in page
    assert 'src="static/refresh.js"' in page
    for heading in (
        "Practices",
        "Workers",
        "Lag",
        "Retry tiers",
        "Dead letters",
        "Recent failures",
        "Alerts",
        "Alert delivery",
    ):
        assert f"<h2>{heading}" in page


async def test_undelivered_alerts_show_as_a_banner_naming_sink_and_key(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    banner = page[page.index('id="undelivered"') :].split("</section>")[0]
    assert "1 alert not delivered" in banner
    assert (
        "<code>slack</code> refused <code>pms-relay:circuit_open:es-demo:eaglesoft</code> (HTTP 503" in banner
    )
    assert "pms-relay alerts test --sink NAME" in banner
    assert 'data-alerting="red"' in page
    snapshot = (await client.get("/api/snapshot")).json()["alerting"]
    assert (snapshot["level"], snapshot["undelivered"], snapshot["leader"]["instance_id"]) == (
        "red",
        1,
        "alerts-a-5151",
    )
    assert [i["instance_id"] for i in snapshot["instances"]] == ["alerts-a-5151", "alerts-b-5152"]


async def test_live_is_the_part_the_script_swaps_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/live")
    assert response.status_code == 200
    assert response.text.lstrip().startswith("<header")
    assert "<html" not in response.text
    assert f'data-practice="{OPEN}" data-level="red"' in response.text


async def test_snapshot_is_the_same_data_as_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/snapshot")
    assert response.status_code == 200
    data = response.json()
    assert data["level"] == "red"
    assert data["practices"][0]["status"]["practice_id"] == OPEN
    assert data["practices"][0]["status"]["circuit"] == "open"
    assert {w["status"]["worker_id"] for w in data["workers"]} == {"relay-a-4242", "relay-b-4243"}
    assert data["lag"]["records"] == 5
    assert data["dead_letter_depth"] == 3
    assert data["alerts"][0]["new"] == "open"


async def test_static_files(client: httpx.AsyncClient) -> None:
    script = await client.get("/static/refresh.js")
    css = await client.get("/static/dashboard.css")
    assert script.status_code == 200
    assert 'fetch("live"' in script.text
    assert css.status_code == 200
    assert ".dot.red" in css.text
    assert (await client.get("/static/nope.js")).status_code == 404


async def test_health_says_up_or_down() -> None:
    async for client in _client(FixedSource(ClusterState())):
        response = await client.get("/health")
        assert response.status_code == 200
        assert response.json()["status"] == "UP"
    async for client in _client(_Down(ClusterState())):
        response = await client.get("/health")
        assert response.status_code == 503
        assert response.json()["status"] == "DOWN"


async def test_an_empty_cluster_renders_and_says_so() -> None:
    async for client in _client(FixedSource(ClusterState())):
        page = (await client.get("/")).text
        assert "No practice status yet" in page
        assert "demo.pms.status" in page
        assert "No alerts service seen" in page
        assert 'id="undelivered"' not in page


async def test_ids_are_escaped(client: httpx.AsyncClient) -> None:
    state = sample_state(2, NOW)
    hostile = state.practices["dx-demo"].model_copy(update={"practice_id": "<script>x</script>"})
    state.practices["dx-demo"] = hostile
    async for c in _client(FixedSource(state)):
        page = (await c.get("/")).text
        assert "<script>x</script>" not in page
        assert "&lt;script&gt;x&lt;/script&gt;" in page
