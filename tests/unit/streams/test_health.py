"""Health rules: a table of app states and what /health/live and /health/ready answer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from streams.health import Status, liveness, readiness
from streams.probe import AppState

TOPIC = "pms.commands"
READY = AppState(
    started=True,
    recovered=True,
    recovering=False,
    rebalancing=False,
    broker=True,
    partitions=(0, 2),
    stopping=False,
    crashed=False,
)


@pytest.mark.parametrize(
    ("change", "down"),
    [
        ({}, set()),
        ({"started": False, "broker": None, "recovered": False, "partitions": ()}, {"kafka", "tables", "partitions"}),
        ({"recovered": False}, {"tables"}),  # the first recovery is still reading changelogs
        ({"recovering": True}, {"tables"}),  # a later rebalance's recovery
        ({"rebalancing": True}, {"tables"}),
        ({"broker": False}, {"kafka"}),  # the group coordinator was lost
        ({"partitions": ()}, {"partitions"}),  # more workers than partitions
        ({"stopping": True}, {"app"}),
        ({"crashed": True}, {"app"}),
    ],
)  # fmt: skip
def test_readiness(change: dict[str, object], down: set[str]) -> None:
    health = readiness(replace(READY, **change), TOPIC)  # type: ignore[arg-type]
    failing = {name for name, c in health.components.items() if c.status is Status.DOWN}
    assert failing == down
    assert health.status is (Status.DOWN if down else Status.UP)
    assert health.http_status == (503 if down else 200)


def test_readiness_body_is_actuator_shaped_and_names_the_partitions() -> None:
    body = readiness(READY, TOPIC).body()
    assert body["status"] == "UP"
    assert set(body["components"]) == {"kafka", "tables", "partitions"}
    assert body["components"]["partitions"] == {
        "status": "UP",
        "details": {"assigned": ["pms.commands:0", "pms.commands:2"]},
    }
    assert all(set(c) == {"status", "details"} for c in body["components"].values())


@pytest.mark.parametrize(
    ("change", "status", "http"),
    [
        ({}, "UP", 200),
        ({"partitions": (), "broker": False, "recovered": False}, "UP", 200),  # not ready is still alive
        ({"crashed": True}, "DOWN", 503),
    ],
)
def test_liveness(change: dict[str, object], status: str, http: int) -> None:
    health = liveness(replace(READY, **change))  # type: ignore[arg-type]
    assert (health.body()["status"], health.http_status) == (status, http)
