"""The demo's own webhook receiver: where its alerts service (``pms-relay alerts run``, generic webhook sink)
posts. A thread in the demo's process on loopback, so the demo can show each alert as it arrives and check that
the circuit alert fired and then resolved. It keeps ids and codes only (dedup key, status, condition, practice,
PMS): the summary and details are never kept or printed, whatever they hold.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["AlertHook", "HookAlert"]


@dataclass(frozen=True)
class HookAlert:
    dedup_key: str
    status: str  # "firing" / "resolved"
    condition: str
    practice_id: str | None
    pms: str | None


class AlertHook:
    """Answers 200 to every POST (the service must not retry) and records the alerts in it, in order."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook._received(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the demo's screen shows the alerts; a request log would interleave with it

        self._lock = threading.Lock()
        self._alerts: list[HookAlert] = []
        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="demo-alert-hook", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/alerts"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def alerts(self) -> list[HookAlert]:
        with self._lock:
            return list(self._alerts)

    def fired_and_resolved(self, condition: str, practice_id: str) -> bool:
        """Whether an alert of ``condition`` for ``practice_id`` arrived firing, and later resolved."""
        fired = False
        for alert in self.alerts():
            if alert.condition == condition and alert.practice_id == practice_id:
                fired = fired or alert.status == "firing"
                if fired and alert.status == "resolved":
                    return True
        return False

    def _received(self, body: bytes) -> None:
        try:
            alerts = json.loads(body)["alerts"]
            parsed = [
                HookAlert(a["dedup_key"], a["status"], a["condition"], a.get("practice_id"), a.get("pms"))
                for a in alerts
            ]
        except (ValueError, KeyError, TypeError):
            return  # not our service's body: nothing to show
        with self._lock:
            self._alerts.extend(parsed)
