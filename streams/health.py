"""Health in the Spring Boot Actuator style: ``/health/live`` and ``/health/ready`` on the worker's web port.

Each answers ``{"status": "UP"|"DOWN", "components": {name: {"status": …, "details": {…}}}}``, with HTTP 200
when UP and 503 when DOWN. The rules are pure functions of one :class:`streams.probe.AppState`:

- **live**: the app has not crashed. A hung event loop answers nothing at all, which a probe's timeout
  catches; so DOWN means only "restart me".
- **ready**: the broker's group coordinator is known (``kafka``), the tables have recovered and no recovery
  or rebalance is running (``tables``), and at least one partition of the commands topic is assigned
  (``partitions``). A worker with nothing assigned (more workers than partitions) is alive, not ready.

Details are ids and counts only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import faust
from faust.web import Request, Response, View

from streams.probe import AppState

__all__ = ["Component", "Health", "Status", "install", "liveness", "readiness"]


class Status(StrEnum):
    UP = "UP"
    DOWN = "DOWN"


@dataclass(frozen=True)
class Component:
    status: Status
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Health:
    components: dict[str, Component]

    @property
    def status(self) -> Status:
        up = all(c.status is Status.UP for c in self.components.values())
        return Status.UP if up else Status.DOWN

    @property
    def http_status(self) -> int:
        return 200 if self.status is Status.UP else 503

    def body(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "components": {
                name: {"status": c.status.value, "details": c.details} for name, c in self.components.items()
            },
        }


def _up(condition: bool) -> Status:
    return Status.UP if condition else Status.DOWN


def liveness(state: AppState) -> Health:
    return Health({"app": Component(_up(not state.crashed), {"crashed": state.crashed})})


def readiness(state: AppState, commands_topic: str) -> Health:
    kafka = Component(
        _up(state.broker is True),
        {"consumer": "running" if state.started else "not started", "coordinator": bool(state.broker)},
    )
    settled = state.recovered and not state.recovering and not state.rebalancing
    tables = Component(
        _up(settled),
        {"recovered": state.recovered, "recovering": state.recovering, "rebalancing": state.rebalancing},
    )
    partitions = Component(
        _up(bool(state.partitions)), {"assigned": [f"{commands_topic}:{p}" for p in state.partitions]}
    )
    components = {"kafka": kafka, "tables": tables, "partitions": partitions}
    if state.stopping or state.crashed:
        components["app"] = Component(Status.DOWN, {"stopping": state.stopping, "crashed": state.crashed})
    return Health(components)


def install(app: faust.App, state: Callable[[], AppState], commands_topic: str) -> None:
    """Serve ``/health/live`` and ``/health/ready`` (when the app's web server is on)."""

    @app.page("/health/live")
    async def live(view: View, request: Request) -> Response:
        health = liveness(state())
        return view.json(health.body(), status=health.http_status)

    @app.page("/health/ready")
    async def ready(view: View, request: Request) -> Response:
        health = readiness(state(), commands_topic)
        return view.json(health.body(), status=health.http_status)
