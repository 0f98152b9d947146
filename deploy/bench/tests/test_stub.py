"""The bench's PMS stub over real HTTP on loopback: prepared answers by method and longest path prefix, the
query ignored, bodies read, connections kept alive. Run with ``.venv/bin/pytest deploy/bench/tests``."""

from __future__ import annotations

import httpx
import pytest

from deploy.bench.http_cost import page_answer
from deploy.bench.stub import Answer, serve

ANSWERS = {
    ("GET", "/api/appointments"): page_answer(3),
    ("GET", "/api"): Answer(200, {"data": []}),
    ("POST", "/api/patients"): Answer(201, {"id": "P-1"}),
}


@pytest.mark.asyncio
async def test_the_stub_answers_by_method_and_longest_prefix() -> None:
    server = await serve(ANSWERS)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            page = await client.get("/api/appointments", params={"filter": "a b", "pageSize": "500"})
            other = await client.get("/api/operatories")
            created = await client.post("/api/patients", json={"first_name": "x" * 5000})
            missing = await client.delete("/api/patients/1")
            again = await client.get("/api/appointments/1")
    finally:
        server.close()
    assert (page.status_code, len(page.json()["data"])) == (200, 3)
    assert other.json() == {"data": []}
    assert (created.status_code, created.json()) == (201, {"id": "P-1"})
    assert missing.status_code == 404
    assert again.json() == page.json()
