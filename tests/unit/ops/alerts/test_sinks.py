"""Every sink against a real HTTP receiver on loopback: the exact bodies, the signature, retries, refusals,
and no patient data in anything sent."""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from ops.alerts.conditions import evaluate
from ops.alerts.delivery import Deliveries, Outcome
from ops.alerts.notices import Notice, Status
from ops.alerts.notifier import Notifier
from ops.alerts.payloads import Batch
from ops.alerts.settings import AlertSettings, Condition, Severity
from tests.unit.ops.alerts.fleet import fleet, practice
from tests.unit.ops.alerts.receiver import Receiver, receiver

STARTED = datetime(2026, 12, 2, 7, 50, tzinfo=UTC)
ENDED = datetime(2026, 12, 2, 8, 5, tzinfo=UTC)
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
RUNBOOK = (
    "The office's PMS keeps failing: `pms-relay config check -c practices.yaml --connect` tests its "
    "connection; the circuit closes by itself once a probe succeeds. Call the office if it stays open."
)
NOTICE = Notice(
    key="pms-relay:circuit_open:es-demo:eaglesoft",
    condition=Condition.CIRCUIT_OPEN,
    severity=Severity.CRITICAL,
    status=Status.FIRING,
    summary="circuit open for 6m00s at practice es-demo (eaglesoft), 5 consecutive failures",
    started_at=STARTED,
    practice_id="es-demo",
    pms="eaglesoft",
    trace_id=TRACE,
    details={"circuit": "open", "failures": 5, "open_s": 360},
)
GROUP = '{condition="circuit_open"}'


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def _settings(sink: dict[str, Any], **more: Any) -> AlertSettings:
    return AlertSettings.model_validate(
        {
            "sinks": [sink],
            "dashboard_url": "http://dash.example:8090/",
            "zipkin_url": "http://zipkin.example:9411",
            "delivery": {"attempts": 3, "initial_s": 0.01, "max_s": 0.05},
        }
        | more
    )


def _send(settings: AlertSettings, *notices: Notice) -> Outcome:
    deliveries = Deliveries(settings, lambda outcome: None)
    try:
        return deliveries.send_now(
            settings.sinks[0].name, Batch(GROUP, {"condition": "circuit_open"}, notices)
        )
    finally:
        deliveries.stop()


def test_webhook_body_and_hmac_signature(hook: Receiver) -> None:
    settings = _settings({"kind": "webhook", "name": "hook", "url": hook.url, "secret": "s3cret"})
    assert _send(settings, NOTICE).ok
    (request,) = hook.requests
    assert request.json() == {
        "version": "1",
        "source": "pms-relay",
        "group_key": GROUP,
        "group_labels": {"condition": "circuit_open"},
        "status": "firing",
        "alerts": [
            {
                "dedup_key": "pms-relay:circuit_open:es-demo:eaglesoft",
                "status": "firing",
                "condition": "circuit_open",
                "severity": "critical",
                "summary": "circuit open for 6m00s at practice es-demo (eaglesoft), 5 consecutive failures",
                "runbook": RUNBOOK,
                "practice_id": "es-demo",
                "pms": "eaglesoft",
                "started_at": "2026-12-02T07:50:00Z",
                "ended_at": None,
                "details": {"circuit": "open", "failures": 5, "open_s": 360},
                "links": {
                    "dashboard": "http://dash.example:8090/",
                    "trace": f"http://zipkin.example:9411/zipkin/traces/{TRACE}",
                },
            }
        ],
    }
    timestamp, digest = (
        part.split("=", 1)[1] for part in request.headers["x-pms-relay-signature"].split(",")
    )
    expected = hmac.new(b"s3cret", f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(digest, expected)
    assert request.headers["content-type"] == "application/json"


def test_an_unsigned_webhook_has_no_signature(hook: Receiver) -> None:
    assert _send(_settings({"kind": "webhook", "name": "hook", "url": hook.url}), NOTICE).ok
    assert "x-pms-relay-signature" not in hook.requests[0].headers


def test_slack_blocks(hook: Receiver) -> None:
    settings = _settings({"kind": "slack", "name": "team", "url": hook.url})
    assert _send(settings, NOTICE, NOTICE.resolved(ENDED)).ok
    assert hook.requests[0].json() == {
        "text": f"pms-relay: 1 firing, 1 resolved ({GROUP})",
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": f"pms-relay: 1 firing, 1 resolved ({GROUP})"},
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": ":rotating_light: *FIRING* `circuit_open` (critical)\n"
                    f"{NOTICE.summary}\n_What to do:_ {RUNBOOK}\n"
                    f"<http://dash.example:8090/|dashboard> <http://zipkin.example:9411/zipkin/traces/{TRACE}|trace>",
                },
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"`{NOTICE.key}`"}]},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": ":white_check_mark: *RESOLVED* `circuit_open` (critical)\n"
                    f"{NOTICE.summary}\n"
                    f"<http://dash.example:8090/|dashboard> <http://zipkin.example:9411/zipkin/traces/{TRACE}|trace>",
                },
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"`{NOTICE.key}`"}]},
        ],
    }


def test_pagerduty_trigger_and_resolve(hook: Receiver) -> None:
    settings = _settings({"kind": "pagerduty", "name": "pd", "routing_key": "R0UTING", "url": hook.url})
    assert _send(settings, NOTICE).ok
    assert _send(settings, NOTICE.resolved(ENDED)).ok
    trigger, resolve = hook.bodies()
    assert trigger == {
        "routing_key": "R0UTING",
        "event_action": "trigger",
        "dedup_key": "pms-relay:circuit_open:es-demo:eaglesoft",
        "payload": {
            "summary": NOTICE.summary,
            "source": "pms-relay/es-demo",
            "severity": "critical",
            "timestamp": "2026-12-02T07:50:00Z",
            "component": "eaglesoft",
            "group": "es-demo",
            "class": "circuit_open",
            "custom_details": {"circuit": "open", "failures": 5, "open_s": 360, "runbook": RUNBOOK},
        },
        "links": [
            {"href": "http://dash.example:8090/", "text": "dashboard"},
            {"href": f"http://zipkin.example:9411/zipkin/traces/{TRACE}", "text": "trace"},
        ],
        "client": "pms-relay",
        "client_url": "http://dash.example:8090/",
    }
    assert resolve == {
        "routing_key": "R0UTING",
        "event_action": "resolve",
        "dedup_key": "pms-relay:circuit_open:es-demo:eaglesoft",
    }


def test_alertmanager_webhook_v4(hook: Receiver) -> None:
    settings = _settings({"kind": "alertmanager", "name": "am", "url": hook.url})
    assert _send(settings, NOTICE.resolved(ENDED)).ok
    labels = {
        "alertname": "circuit_open",
        "condition": "circuit_open",
        "severity": "critical",
        "dedup_key": NOTICE.key,
        "practice_id": "es-demo",
        "pms": "eaglesoft",
    }
    annotations = {
        "summary": NOTICE.summary,
        "runbook": RUNBOOK,
        "trace_url": f"http://zipkin.example:9411/zipkin/traces/{TRACE}",
    }
    assert hook.requests[0].json() == {
        "version": "4",
        "groupKey": GROUP,
        "truncatedAlerts": 0,
        "status": "resolved",
        "receiver": "am",
        "groupLabels": {"condition": "circuit_open"},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "http://dash.example:8090/",
        "alerts": [
            {
                "status": "resolved",
                "labels": labels,
                "annotations": annotations,
                "startsAt": "2026-12-02T07:50:00Z",
                "endsAt": "2026-12-02T08:05:00Z",
                "generatorURL": "http://dash.example:8090/",
                "fingerprint": hashlib.sha256(NOTICE.key.encode()).hexdigest()[:16],
            }
        ],
    }


def test_a_500_then_a_200_is_delivered_once(hook: Receiver) -> None:
    hook.script = [500]
    outcome = _send(_settings({"kind": "webhook", "name": "hook", "url": hook.url}), NOTICE)
    assert outcome.ok
    assert outcome.attempts == 2
    assert len(hook.requests) == 2
    assert hook.requests[0].body == hook.requests[1].body


@pytest.mark.parametrize(("script", "attempts"), [([429, 503, 502], 3), ([404], 1), ([401], 1)])
def test_retries_stop_at_a_refusal_or_the_last_attempt(
    hook: Receiver, script: list[int], attempts: int
) -> None:
    hook.script = list(script)
    outcome = _send(_settings({"kind": "webhook", "name": "hook", "url": hook.url}), NOTICE)
    assert not outcome.ok
    assert outcome.reason == f"HTTP {script[-1]}"
    assert outcome.attempts == attempts == len(hook.requests)


def test_an_unreachable_sink_is_reported_by_exception_type() -> None:
    outcome = _send(_settings({"kind": "webhook", "name": "hook", "url": "http://127.0.0.1:9/hook"}), NOTICE)
    assert not outcome.ok
    assert outcome.reason == "ConnectError"
    assert outcome.attempts == 3


def test_submit_never_blocks_and_reports_through_the_queue(hook: Receiver) -> None:
    settings = _settings({"kind": "webhook", "name": "hook", "url": hook.url})
    outcomes: queue.Queue[Outcome] = queue.Queue()
    deliveries = Deliveries(settings, outcomes.put)
    deliveries.start()
    try:
        deliveries.submit(Batch(GROUP, {}, (NOTICE,)))
        assert outcomes.get(timeout=10).ok
    finally:
        deliveries.stop()


PHI = ("Zebulon", "Quackenbush", "1961-04-13", "5550107788", "zq@example.com", "12 Molar Lane", "root canal")


def test_no_patient_data_reaches_any_sink(hook: Receiver) -> None:
    """Patient-like strings planted wherever a status record could carry text: none of them is read, so none
    is sent. The records of the contract have no such fields; a newer worker adding them must not leak."""
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    planted: dict[str, Any] = {
        "first_name": PHI[0], "last_name": PHI[1], "birth_date": PHI[2], "phone": PHI[3], "email": PHI[4],
        "address": PHI[5], "notes": PHI[6],
    }  # fmt: skip
    failing = {"command_id": "c-1", "code": "UNAUTHORIZED", "at": now.isoformat(), **planted}
    record = practice(
        "es-demo", now, circuit="open", circuit_since="2026-12-02T07:00:00+00:00",
        recent_failures=[failing], last_error=failing, last_success_at=None,
        window_5m={"finished": 40, "errors": 40, **planted}, **planted,
    )  # fmt: skip
    sinks = [
        {"kind": "webhook", "name": "hook", "url": hook.url, "secret": "x"},
        {"kind": "slack", "name": "slack", "url": hook.url},
        {"kind": "pagerduty", "name": "pd", "routing_key": "k", "url": hook.url},
        {"kind": "alertmanager", "name": "am", "url": hook.url},
    ]
    settings = AlertSettings.model_validate(
        {"sinks": sinks, "grouping": {"wait_s": 0, "by": ["practice_id"]}}
    )
    notifier = Notifier(settings)
    (batch,) = notifier.step(evaluate(fleet(now, record), now, settings), now)
    assert {n.condition for n in batch.notices} >= {Condition.CIRCUIT_OPEN, Condition.CREDENTIALS_REJECTED}
    deliveries = Deliveries(settings, lambda outcome: None)
    try:
        for sink in sinks:
            assert deliveries.send_now(sink["name"], batch).ok
    finally:
        deliveries.stop()
    sent = b"".join(r.body for r in hook.requests).decode()
    assert len(hook.requests) >= 4
    assert [value for value in PHI if value in sent] == []
    assert json.loads(hook.requests[0].body)["alerts"][0]["practice_id"] == "es-demo"
