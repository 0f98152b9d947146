"""Circuit alerts: every circuit transition becomes a CloudEvent with a JSON body on ``pms.alerts``.

JSON, not Avro, so operators read alerts with any tool. pybreaker calls its listeners synchronously, inside
the command's task, so each alert is sent from a task of its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

from schemas import cloudevents as ce
from schemas.codec import EncodedMessage
from streams.circuit import Transition
from streams.observer import Observer
from streams.outbound import Outbox

__all__ = ["ALERT_TYPE", "CircuitAlerts", "alert_event"]

ALERT_TYPE = "pms.alert.circuit.v1"

_log = logging.getLogger(__name__)


class CircuitAlerts:
    def __init__(self, outbox: Outbox, topic: str, observer: Observer) -> None:
        self._outbox = outbox
        self._topic = topic
        self._observer = observer
        self._pending: set[asyncio.Task[None]] = set()

    def __call__(self, transition: Transition) -> None:
        _log.warning(
            "circuit %s -> %s practice_id=%s pms=%s",
            transition.old,
            transition.new,
            transition.practice_id,
            transition.pms,
        )
        self._observer.circuit_changed(transition)
        task = asyncio.get_running_loop().create_task(self._outbox.send(self._topic, alert_event(transition)))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)


def alert_event(transition: Transition) -> EncodedMessage:
    body = {
        "type": "circuit",
        "practice_id": transition.practice_id,
        "pms": transition.pms,
        "from": transition.old,
        "to": transition.new,
        "failures": transition.failures,
        "at": transition.at.isoformat(),
    }
    headers = ce.build_headers(
        event_id=str(uuid.uuid4()), source=ce.DEFAULT_SOURCE, event_type=ALERT_TYPE, time=transition.at
    )
    headers = [(k, b"application/json" if k == "content-type" else v) for k, v in headers]
    return EncodedMessage(transition.practice_id.encode(), json.dumps(body).encode(), headers)
