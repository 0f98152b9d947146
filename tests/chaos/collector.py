"""Every answer the relay publishes, as the platform would see it, stamped with its arrival time.

Unlike :class:`tests.relay_system.RelaySystem`'s collector, this one keeps what a verdict needs about each
answer message (its ce_id, its outcome, a digest of its bytes, where it was read, when it arrived) and never
stops on an answer it cannot decode: that is recorded as evidence instead.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, Message

from schemas.codec import Codec, DecodeError
from schemas.envelopes import ErrorEnvelope
from streams.topics import TopicNames

__all__ = ["AnswerCollector", "Seen", "byte_headers"]


@dataclass(frozen=True)
class Seen:
    """One answer message. ``outcome``: ``result`` or ``error <CODE>`` (``undecodable`` when it did not decode)."""

    topic: str
    partition: int
    offset: int
    arrived: float  # time.monotonic() when the collector read it
    ce_id: str | None
    command_id: str | None  # from the envelope, else from ce_correlationid
    outcome: str
    attempts: int
    digest: str  # of the value: the same bytes again is a replay of a stored answer
    note: str = ""  # the error message, or why the answer did not decode

    @property
    def is_result(self) -> bool:
        return self.outcome == "result"


class AnswerCollector:
    """Reads the results and errors topics (and counts dead letters) on a thread of its own."""

    def __init__(self, bootstrap: str, topics: TopicNames, codec: Codec | None = None) -> None:
        self._bootstrap = bootstrap
        self._topics = topics
        self._codec = codec or Codec()
        self._lock = threading.Lock()
        self._seen: list[Seen] = []
        self._keys: set[str] = set()  # command ids and ce_ids answered so far
        self.dead_letters = 0
        self.last_arrival = 0.0  # time.monotonic() of the latest answer
        self._assigned = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-collector", daemon=True)

    def start(self, timeout: float = 30.0) -> AnswerCollector:
        self._thread.start()
        if not self._assigned.wait(timeout):
            raise RuntimeError("the answer collector got no assignment")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def answered(self, keys: set[str]) -> set[str]:
        """Those of ``keys`` (command ids or ce_ids) that have an answer."""
        with self._lock:
            return keys & self._keys

    def _run(self) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": self._bootstrap,
                "group.id": f"chaos-collector-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 50,
            }
        )
        topics = [self._topics.results, self._topics.errors, self._topics.dead_letters]
        consumer.subscribe(topics, on_assign=lambda *_: self._assigned.set())
        try:
            while not self._stop.is_set():
                for message in consumer.consume(num_messages=500, timeout=0.1):
                    if message.error() is None:
                        self._record(message, time.monotonic())
        finally:
            consumer.close()

    def _record(self, message: Message, arrived: float) -> None:
        if message.topic() == self._topics.dead_letters:
            self.dead_letters += 1
            return
        seen = self._read(message, arrived)
        self.last_arrival = arrived
        with self._lock:
            self._seen.append(seen)
            self._keys.update(k for k in (seen.command_id, seen.ce_id) if k)

    def _read(self, message: Message, arrived: float) -> Seen:
        raw_headers = byte_headers(message.headers())
        headers = {k: v.decode("utf-8", "replace") for k, v in raw_headers if v is not None}
        value: bytes = message.value() or b""
        common: dict[str, Any] = {
            "topic": str(message.topic()),
            "partition": int(message.partition() or 0),
            "offset": int(message.offset() or 0),
            "arrived": arrived,
            "ce_id": headers.get("ce_id"),
            "digest": hashlib.sha1(value).hexdigest()[:12],
        }
        try:
            if message.topic() == self._topics.results:
                result = self._codec.decode_result(value, raw_headers, message.key())
                return Seen(
                    **common, command_id=str(result.command_id), outcome="result", attempts=result.attempts
                )
            error: ErrorEnvelope = self._codec.decode_error(value, raw_headers, message.key())
        except DecodeError as exc:
            return Seen(
                **common,
                command_id=headers.get("ce_correlationid"),
                outcome="undecodable",
                attempts=0,
                note=exc.message,
            )
        command_id = (
            str(error.command_id) if error.command_id is not None else headers.get("ce_correlationid")
        )
        return Seen(
            **common,
            command_id=command_id,
            outcome=f"error {error.code.value}",
            attempts=error.attempts,
            note=error.message,
        )


def byte_headers(headers: Any) -> list[tuple[str, bytes | None]]:
    """librdkafka's headers (a list of pairs, values bytes or None) as the codec reads them."""
    pairs = headers.items() if isinstance(headers, dict) else headers or ()
    return [(str(k), v.encode() if isinstance(v, str) else v) for k, v in pairs]
