"""Vendor-neutral pieces of the PMS sandboxes: the seeded fault engine (:mod:`~adapters.sandbox.faults`),
the ASGI middleware that applies it (:mod:`~adapters.sandbox.middleware`), the request log, the admin routes
for faults, outages and the log (:mod:`~adapters.sandbox.admin`), the uvicorn runner
(:mod:`~adapters.sandbox.runner`) and seeded synthetic people (:mod:`~adapters.sandbox.seeding`).

A vendor sandbox builds its Starlette app, mounts ``FaultAdmin(...).routes()``, wraps the app in
``FaultMiddleware`` with a renderer for its own error dialect, and that in ``RawPathRouting``
(:mod:`~adapters.sandbox.routing`: routes match the path as sent, so an encoded id stays one id).
"""

from adapters.sandbox.admin import FaultAdmin
from adapters.sandbox.faults import Decision, FaultEngine, FaultPlan, FaultRule, RequestInfo, parse_fault_spec
from adapters.sandbox.middleware import FaultMiddleware, read_lag_s
from adapters.sandbox.request_log import RequestLog
from adapters.sandbox.routing import RawPathRouting, path_param
from adapters.sandbox.runner import RunningServer, run_in_thread, serve

__all__ = [
    "Decision",
    "FaultAdmin",
    "FaultEngine",
    "FaultMiddleware",
    "FaultPlan",
    "FaultRule",
    "RawPathRouting",
    "RequestInfo",
    "RequestLog",
    "RunningServer",
    "parse_fault_spec",
    "path_param",
    "read_lag_s",
    "run_in_thread",
    "serve",
]
