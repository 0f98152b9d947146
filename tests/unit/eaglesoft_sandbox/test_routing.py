"""The Eaglesoft sandbox routes on the path as sent: a practice id holding ``/chairs`` is no chair list."""

from __future__ import annotations

import httpx

from adapters.eaglesoft.sandbox import API_BASE, EaglesoftSandbox, SandboxConfig


async def test_an_encoded_id_is_one_id_not_a_nested_route() -> None:
    config = SandboxConfig()
    sandbox = EaglesoftSandbox(config)
    practice = next(iter(sandbox.seed_data.zones))
    transport = httpx.ASGITransport(sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://sandbox{API_BASE}/") as client:
        login = {
            "IntegrationKey": config.integration_key,
            "UserId": config.user_id,
            "Password": config.password,
        }
        token = (await client.post("session", json=login)).json()["SessionToken"]
        client.headers.update({"X-Session-Token": token, "X-Practice-Id": str(practice)})
        chairs = await client.get(f"practices/{practice}/chairs")
        smuggled = await client.get(f"practices/{practice}%2Fchairs")
    assert chairs.status_code == 200
    assert (smuggled.status_code, smuggled.json()["ErrorCode"]) == (404, "NotFound")
    assert [line.path for line in sandbox.request_log.lines()][
        -1
    ] == f"{API_BASE}/practices/{practice}%2Fchairs"
