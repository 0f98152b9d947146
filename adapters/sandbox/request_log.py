"""What a sandbox saw: one line per request: time, method, path (as sent, percent-encoded, without the query),
status, faults fired.

Rate-limit and retry tests read it to observe the client's behaviour from the server side. It never holds
query strings or bodies, which may carry patient data.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RequestLog", "RequestRecord"]


@dataclass(frozen=True)
class RequestRecord:
    time: float  # Unix seconds, when the request arrived
    method: str
    path: str
    status: int | None  # None: the connection was dropped without an answer
    faults: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "faults": list(self.faults)}


class RequestLog:
    """A bounded, thread-safe log; the oldest lines go first."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._lines: deque[RequestRecord] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._lines.append(record)

    def record(self, method: str, path: str, status: int | None, faults: tuple[str, ...], at: float) -> None:
        self.append(RequestRecord(time=at, method=method, path=path, status=status, faults=faults))

    def lines(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._lines)

    def clear(self) -> None:
        with self._lock:
            self._lines.clear()

    @staticmethod
    def now() -> float:
        return time.time()
