"""Who may call, and how fast: the ODFHIR key pair, the credential check behind it, and the throttle.

**Keys.** Every request carries ``Authorization: ODFHIR {DeveloperKey}/{CustomerKey}``; the customer key names
the office. Like Open Dental's API Service, the sandbox validates a key pair with "HQ" once and trusts it for
``credential_ttl_s`` (six hours); :meth:`KeyRing.revoke_all` (the ``expire_tokens`` fault, or
``POST /_admin/tokens/revoke``) ends every validation, so the next request makes the check again. The check is
a call the sandbox makes itself, transparent to the client; it is written to the request log as
``POST /hq/credentials`` (200, or 401 for a refused pair), so tests can see that it happened.

**Throttle.** About one request per second per customer key (:class:`Throttle`): a generic cell rate
algorithm with an interval of ``1/rate`` and a tolerance of a tenth of it (at least 50 ms), so a client that
paces itself at the rate passes despite the network's jitter (a new connection alone can delay one request by
tens of milliseconds), and one that goes faster is answered 429 with ``Retry-After``. Pure logic with an
injected clock.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping

__all__ = ["CREDENTIAL_CHECK_PATH", "KeyRing", "Throttle", "parse_authorization"]

CREDENTIAL_CHECK_PATH = "/hq/credentials"
_TOLERANCE = 0.1  # of the interval
_MIN_TOLERANCE_S = 0.05


def parse_authorization(header: str) -> tuple[str, str] | None:
    """``(developer key, customer key)`` of an ``ODFHIR {DeveloperKey}/{CustomerKey}`` header, else None."""
    scheme, _, pair = header.partition(" ")
    developer, slash, customer = pair.strip().partition("/")
    if scheme != "ODFHIR" or not slash or not developer or not customer or "/" in customer:
        return None
    return developer, customer


class KeyRing:
    """The developer key and each office's customer key; validations that last ``ttl_s``."""

    def __init__(
        self,
        developer_key: str,
        offices: Mapping[str, int],
        ttl_s: float,
        *,
        on_check: Callable[[int], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._developer_key = developer_key
        self._offices = dict(offices)  # customer key -> office number
        self._ttl_s = ttl_s
        self._on_check = on_check  # told the status of every check made (200 or 401)
        self._clock = clock
        self._valid_until: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def office(self, developer_key: str, customer_key: str) -> int | None:
        """The office a key pair opens, or None for a refused pair; checks with "HQ" when not validated."""
        pair = (developer_key, customer_key)
        now = self._clock()
        with self._lock:
            if self._valid_until.get(pair, 0.0) > now:
                return self._offices[customer_key]
        office = self._check(developer_key, customer_key)
        self._on_check(200 if office is not None else 401)
        if office is not None:
            with self._lock:
                self._valid_until[pair] = now + self._ttl_s
        return office

    def _check(self, developer_key: str, customer_key: str) -> int | None:
        if not secrets.compare_digest(developer_key.encode(), self._developer_key.encode()):
            return None
        return next(
            (
                n
                for key, n in self._offices.items()
                if secrets.compare_digest(customer_key.encode(), key.encode())
            ),
            None,
        )

    def revoke_all(self) -> int:
        with self._lock:
            count = len(self._valid_until)
            self._valid_until.clear()
        return count


class Throttle:
    """At most about ``rate`` requests per second per key (0: no limit)."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._tolerance = max(self._interval * _TOLERANCE, _MIN_TOLERANCE_S)
        self._clock = clock
        self._due: dict[str, float] = {}  # key -> theoretical arrival time of its next request
        self._lock = threading.Lock()

    def admit(self, key: str) -> float | None:
        """None when the request may pass (and is counted); else the seconds to wait before trying again."""
        if self._interval == 0:
            return None
        now = self._clock()
        with self._lock:
            due = self._due.get(key, now)
            earliest = due - self._tolerance
            if now < earliest:
                return earliest - now
            self._due[key] = max(due, now) + self._interval
            return None
