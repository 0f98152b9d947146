"""Sending batches to the sinks: one queue and one thread per sink, so a slow or failing receiver never
delays evaluation or another sink.

Each request is retried with exponential backoff (tenacity) on what a later try can fix: a lost connection,
a timeout, 429 and 5xx. Any other answer from 400 to 499 is final: the receiver refuses this request (a revoked
routing key, a deleted Slack hook), so it is reported at once. Every outcome reaches ``report``; a failure is
also logged, with the sink's name, the dedup keys and the status, never a URL (Slack's carries its token).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from ops.alerts import payloads
from ops.alerts.payloads import Batch
from ops.alerts.settings import (
    AlertmanagerSink,
    AlertSettings,
    Delivery,
    PagerDutySink,
    SlackSink,
    WebhookSink,
)

__all__ = ["Deliveries", "Outcome", "SendError", "requests_for", "should_retry"]

_log = logging.getLogger(__name__)
AnySink = WebhookSink | SlackSink | PagerDutySink | AlertmanagerSink


class SendError(Exception):
    """A request the sink did not accept. ``reason`` is a status (``HTTP 503``) or an exception's type."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True)
class Outcome:
    sink: str
    batch: Batch
    ok: bool
    reason: str | None = None  # why not, for the log and the dashboard
    attempts: int = 1


Report = Callable[[Outcome], None]


def should_retry(status: int) -> bool:
    return status == 429 or status >= 500


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]


def requests_for(
    sink: AnySink, batch: Batch, settings: AlertSettings, clock: Callable[[], float] = time.time
) -> Iterator[Request]:
    """The HTTP requests one batch makes to one sink (PagerDuty: one per notice)."""
    json_type = {"Content-Type": "application/json"}
    if isinstance(sink, PagerDutySink):
        key = sink.routing_key.get_secret_value()
        for notice in batch.notices:
            yield Request(
                sink.url, payloads.body_bytes(payloads.pagerduty_event(notice, key, settings)), json_type
            )
    elif isinstance(sink, SlackSink):
        yield Request(
            sink.url.get_secret_value(), payloads.body_bytes(payloads.slack_body(batch, settings)), json_type
        )
    elif isinstance(sink, AlertmanagerSink):
        body = payloads.body_bytes(payloads.alertmanager_body(batch, sink.name, settings))
        yield Request(sink.url, body, json_type)
    else:
        body = payloads.body_bytes(payloads.webhook_body(batch, settings))
        headers = dict(json_type)
        if sink.secret is not None:
            headers[sink.signature_header] = payloads.signature(
                body, sink.secret.get_secret_value(), int(clock())
            )
        yield Request(sink.url, body, headers)


class _SinkWorker:
    def __init__(self, sink: AnySink, settings: AlertSettings, report: Report, client: httpx.Client) -> None:
        self.sink = sink
        self._settings = settings
        self._report = report
        self._client = client
        self.queue: queue.Queue[Batch | None] = queue.Queue(settings.delivery.queue)
        self.thread = threading.Thread(target=self._run, name=f"alerts-sink-{sink.name}", daemon=True)

    def _run(self) -> None:
        while (batch := self.queue.get()) is not None:
            try:
                self._report(self._deliver(batch))
            except Exception:  # a bug in one batch must not stop the sink
                _log.exception("alert delivery crashed sink=%s", self.sink.name)

    def _deliver(self, batch: Batch) -> Outcome:
        attempts = 0
        try:
            for request in requests_for(self.sink, batch, self._settings):
                for attempt in _retrying(self._settings.delivery):
                    with attempt:
                        attempts += 1
                        self._post(request)
        except SendError as exc:
            keys = ",".join(n.key for n in batch.notices)
            _log.warning(
                "alert not delivered sink=%s reason=%s attempts=%d dedup_keys=%s",
                self.sink.name, exc.reason, attempts, keys,
            )  # fmt: skip
            return Outcome(self.sink.name, batch, False, exc.reason, attempts)
        _log.info(
            "alert delivered sink=%s status=%s alerts=%d group=%s",
            self.sink.name, batch.status.value, len(batch.notices), batch.group_key,
        )  # fmt: skip
        return Outcome(self.sink.name, batch, True, None, attempts)

    def _post(self, request: Request) -> None:
        try:
            response = self._client.post(
                request.url, content=request.body, headers=request.headers, timeout=self.sink.timeout_s
            )
        except httpx.TransportError as exc:  # connection refused or lost, timeouts
            raise SendError(type(exc).__name__, retryable=True) from exc
        if response.is_success:
            return
        raise SendError(f"HTTP {response.status_code}", retryable=should_retry(response.status_code))


def _retrying(policy: Delivery) -> Retrying:
    return Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait_exponential(multiplier=policy.initial_s, max=policy.max_s),
        retry=retry_if_exception(lambda exc: isinstance(exc, SendError) and exc.retryable),
        reraise=True,
    )


class Deliveries:
    """Every configured sink's queue and thread. :meth:`submit` never blocks: a full queue drops the batch
    for that sink and reports it undelivered."""

    def __init__(self, settings: AlertSettings, report: Report, **client_options: Any) -> None:
        # follow_redirects off: a redirect of a webhook is a misconfiguration to see, not to follow blindly.
        self._client = httpx.Client(follow_redirects=False, **client_options)
        self._report = report
        self._workers = {s.name: _SinkWorker(s, settings, report, self._client) for s in settings.sinks}

    def start(self) -> None:
        for worker in self._workers.values():
            worker.thread.start()

    def submit(self, batch: Batch) -> None:
        for name in batch.sinks if batch.sinks is not None else tuple(self._workers):
            worker = self._workers.get(name)
            if worker is None:
                continue
            try:
                worker.queue.put_nowait(batch)
            except queue.Full:
                _log.warning("alert dropped sink=%s reason=queue_full group=%s", name, batch.group_key)
                self._report(Outcome(name, batch, False, "queue full", 0))

    def send_now(self, sink: str, batch: Batch) -> Outcome:
        """One batch to one sink on this thread (``pms-relay alerts test``)."""
        return self._workers[sink]._deliver(batch)

    def stop(self, timeout: float = 10.0) -> None:
        """Let queued batches go out (bounded), then close."""
        for worker in self._workers.values():
            worker.queue.put(None)
        deadline = time.monotonic() + timeout
        for worker in self._workers.values():
            if worker.thread.is_alive():
                worker.thread.join(max(0.0, deadline - time.monotonic()))
        self._client.close()
