"""Reads the alerts and dead-letter topics from their start (a demo's topics are its own) on a thread."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

__all__ = ["Alert", "DeadLetter", "TopicWatch"]

_rdkafka_log = logging.getLogger("deploy.demo.librdkafka")


@dataclass(frozen=True)
class Alert:
    practice_id: str
    old: str
    new: str
    failures: int
    at: str


@dataclass(frozen=True)
class DeadLetter:
    key: str
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)


class TopicWatch:
    def __init__(self, bootstrap_servers: str, alerts_topic: str, dead_letter_topic: str) -> None:
        self._alerts_topic = alerts_topic
        self._dlt_topic = dead_letter_topic
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                "group.id": f"pms-relay-demo-watch-{uuid.uuid4().hex[:8]}",  # never joined: assigned by hand
                "enable.auto.commit": False,
                "logger": _rdkafka_log,
            }
        )
        self._lock = threading.Lock()
        self._alerts: list[Alert] = []
        self._dead_letters: list[DeadLetter] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-topic-watch", daemon=True)

    def start(self) -> None:
        assignment = []
        for topic in (self._alerts_topic, self._dlt_topic):
            metadata = self._consumer.list_topics(topic, timeout=30).topics[topic]
            assignment += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(metadata.partitions)]
        self._consumer.assign(assignment)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        else:
            self._consumer.close()

    def alerts(self) -> list[Alert]:
        with self._lock:
            return list(self._alerts)

    def dead_letters(self) -> list[DeadLetter]:
        with self._lock:
            return list(self._dead_letters)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                message = self._consumer.poll(0.2)
                if message is None or message.error():
                    continue
                self._record(message)
        finally:
            self._consumer.close()

    def _record(self, message: Any) -> None:
        key = (message.key() or b"").decode(errors="replace")
        if message.topic() == self._alerts_topic:
            body = json.loads(message.value())
            alert = Alert(
                body["practice_id"], body["from"], body["to"], int(body.get("failures", 0)), body["at"]
            )
            with self._lock:
                self._alerts.append(alert)
            return
        # Only the headers: the copy's value is the original command, which may carry patient data.
        headers = tuple(
            (name, (value or b"").decode(errors="replace")) for name, value in message.headers() or ()
        )
        with self._lock:
            self._dead_letters.append(DeadLetter(key, headers))
