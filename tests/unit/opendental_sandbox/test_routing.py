"""The Open Dental sandbox routes on the path as sent, refuses a wrong Authorization the way the API does, and
answers in plain text."""

from __future__ import annotations

import httpx

from adapters.opendental.sandbox import API_BASE, OpenDentalSandbox, SandboxConfig
from adapters.opendental.sandbox.seed import DEFAULT_ANCHOR


async def test_an_encoded_id_is_one_id_not_a_nested_route() -> None:
    sandbox = OpenDentalSandbox(SandboxConfig(anchor=DEFAULT_ANCHOR, rate_per_second=0))
    office = sandbox.seed_data.offices[0]
    transport = httpx.ASGITransport(sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://sandbox{API_BASE}/") as client:
        refused = await client.get("appointments/1", headers={"Authorization": "Bearer x"})
        client.headers["Authorization"] = f"ODFHIR {sandbox.config.developer_key}/{office.customer_key}"
        confirm = await client.put("appointments/1/Confirm", json={"confirmVal": "Confirmed"})
        smuggled = await client.put("appointments/1%2FConfirm", json={"confirmVal": "Confirmed"})
    assert (refused.status_code, refused.headers["content-type"].split(";")[0]) == (401, "text/plain")
    assert (confirm.status_code, confirm.json()["confirmed"]) == (200, "Appointment Confirmed")
    assert (smuggled.status_code, smuggled.text) == (404, "Appointment not found.")
    assert [line.path for line in sandbox.request_log.lines()][-1] == f"{API_BASE}/appointments/1%2FConfirm"
