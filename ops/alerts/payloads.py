"""The body each sink receives, pure: a :class:`Batch` (one group's notices) in, JSON-ready data out.

- generic webhook: our own JSON (``version`` "1"), signed when the sink has a secret: header
  ``X-PMS-Relay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`` (Stripe's scheme: the
  timestamp in the signed text lets a receiver refuse replays);
- Slack incoming webhook: ``text`` (the notification's fallback) and ``blocks``;
- PagerDuty Events API v2: one event per notice (PagerDuty groups by ``dedup_key`` itself);
- Alertmanager webhook, version "4": what Alertmanager itself posts to a webhook receiver.

Every field is built from a notice, which holds ids, codes, counts and durations only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ops.alerts.notices import Notice, Status
from ops.alerts.settings import AlertSettings

__all__ = [
    "Batch",
    "alertmanager_body",
    "body_bytes",
    "labels",
    "pagerduty_event",
    "signature",
    "slack_body",
    "webhook_body",
]

SOURCE = "pms-relay"
_ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of a firing alert
_SLACK_ICONS = {Status.FIRING: ":rotating_light:", Status.RESOLVED: ":white_check_mark:"}


@dataclass(frozen=True)
class Batch:
    """One group's notices, sent together (to ``sinks``; None: every sink)."""

    group_key: str
    group_labels: Mapping[str, str]
    notices: tuple[Notice, ...]
    sinks: tuple[str, ...] | None = None

    @property
    def status(self) -> Status:
        return Status.FIRING if any(n.status is Status.FIRING for n in self.notices) else Status.RESOLVED


def labels(notice: Notice) -> dict[str, str]:
    """The labels of a notice (Alertmanager's meaning; also what grouping reads)."""
    found = {
        "alertname": notice.condition.value,
        "condition": notice.condition.value,
        "severity": notice.severity.value,
        "dedup_key": notice.key,
        "practice_id": notice.practice_id or "",
        "pms": notice.pms or "",
    }
    return {name: value for name, value in found.items() if value}


def _links(notice: Notice, settings: AlertSettings) -> dict[str, str]:
    links = {}
    if settings.dashboard_url:
        links["dashboard"] = settings.dashboard_url
    if (trace := settings.trace_url(notice.trace_id)) is not None:
        links["trace"] = trace
    return links


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def webhook_body(batch: Batch, settings: AlertSettings) -> dict[str, Any]:
    return {
        "version": "1",
        "source": SOURCE,
        "group_key": batch.group_key,
        "group_labels": dict(batch.group_labels),
        "status": batch.status.value,
        "alerts": [
            {
                "dedup_key": n.key,
                "status": n.status.value,
                "condition": n.condition.value,
                "severity": n.severity.value,
                "summary": n.summary,
                "runbook": n.runbook,
                "practice_id": n.practice_id,
                "pms": n.pms,
                "started_at": _iso(n.started_at),
                "ended_at": _iso(n.ended_at),
                "details": dict(n.details),
                "links": _links(n, settings),
            }
            for n in batch.notices
        ],
    }


def slack_body(batch: Batch, settings: AlertSettings) -> dict[str, Any]:
    firing = sum(n.status is Status.FIRING for n in batch.notices)
    text = f"pms-relay: {firing} firing, {len(batch.notices) - firing} resolved ({batch.group_key})"
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": text[:150]}}]
    for n in batch.notices:
        links = " ".join(f"<{url}|{name}>" for name, url in _links(n, settings).items())
        lines = [
            f"{_SLACK_ICONS[n.status]} *{n.status.value.upper()}* `{n.condition.value}` ({n.severity.value})",
            n.summary,
        ]
        if n.status is Status.FIRING:
            lines.append(f"_What to do:_ {n.runbook}")
        if links:
            lines.append(links)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}})
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"`{n.key}`"}]})
    return {"text": text, "blocks": blocks[:50]}  # Slack's limit per message


def pagerduty_event(notice: Notice, routing_key: str, settings: AlertSettings) -> dict[str, Any]:
    if notice.status is Status.RESOLVED:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": notice.key}
    links = [{"href": url, "text": name} for name, url in _links(notice, settings).items()]
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": notice.key,
        "payload": {
            "summary": notice.summary[:1024],  # PagerDuty's limit
            "source": f"{SOURCE}/{notice.practice_id}" if notice.practice_id else SOURCE,
            "severity": notice.severity.value,
            "timestamp": _iso(notice.started_at),
            "component": notice.pms or SOURCE,
            "group": notice.practice_id or "fleet",
            "class": notice.condition.value,
            "custom_details": {**notice.details, "runbook": notice.runbook},
        },
        "links": links,
        "client": SOURCE,
        **({"client_url": settings.dashboard_url} if settings.dashboard_url else {}),
    }


def alertmanager_body(batch: Batch, receiver: str, settings: AlertSettings) -> dict[str, Any]:
    alerts = [_alertmanager_alert(n, settings) for n in batch.notices]
    common = _common([a["labels"] for a in alerts])
    return {
        "version": "4",
        "groupKey": batch.group_key,
        "truncatedAlerts": 0,
        "status": batch.status.value,
        "receiver": receiver,
        "groupLabels": dict(batch.group_labels),
        "commonLabels": common,
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": settings.dashboard_url or "",
        "alerts": alerts,
    }


def _alertmanager_alert(n: Notice, settings: AlertSettings) -> dict[str, Any]:
    annotations = {"summary": n.summary, "runbook": n.runbook}
    if (trace := settings.trace_url(n.trace_id)) is not None:
        annotations["trace_url"] = trace
    return {
        "status": n.status.value,
        "labels": labels(n),
        "annotations": annotations,
        "startsAt": _iso(n.started_at),
        "endsAt": _iso(n.ended_at) if n.ended_at is not None else _ZERO_TIME,
        "generatorURL": settings.dashboard_url or "",
        # Alertmanager's is a hash of the labels; the dedup key is what our labels identify.
        "fingerprint": hashlib.sha256(n.key.encode()).hexdigest()[:16],
    }


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first, *rest = maps
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}


def body_bytes(body: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact, keys in order."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def signature(body: bytes, secret: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
