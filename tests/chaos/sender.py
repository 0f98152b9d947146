"""Produces a workload at a steady rate on a thread of its own, as the platform would (murmur2 partitioner),
and remembers where each message landed: the partition and offset of every command are evidence, and a
malformed message's answer is named after them."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Message, Producer

from schemas.answers import undecodable_event_id
from schemas.codec import Codec
from tests.chaos.workload import Malformed, Planned

__all__ = ["Located", "Sender"]


@dataclass(frozen=True)
class Located:
    """Where a message landed, and when it was handed to the producer (time.monotonic())."""

    partition: int
    offset: int
    sent: float


class Sender:
    def __init__(self, bootstrap: str, topic: str, codec: Codec | None = None) -> None:
        self._topic = topic
        self._codec = codec or Codec()
        self._producer = Producer(
            {"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "linger.ms": 5}
        )
        self.located: dict[int, Located] = {}  # item index -> where it landed
        self.failed: dict[int, str] = {}  # item index -> delivery error
        self.handed = 0  # items handed to the producer so far
        self._sent_at: dict[int, float] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self, items: Sequence[Planned | Malformed], rate: float) -> Sender:
        self._thread = threading.Thread(
            target=self._run, args=(items, rate), name="chaos-sender", daemon=True
        )
        self._thread.start()
        return self

    def join(self, timeout: float) -> bool:
        """Whether every item was handed over and delivered (or failed) within ``timeout``."""
        assert self._thread is not None, "start() first"
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def malformed_event_id(self, index: int) -> str | None:
        """The ce_id the relay's answer to the malformed item ``index`` must carry."""
        where = self.located.get(index)
        return None if where is None else undecodable_event_id(self._topic, where.partition, where.offset)

    def _run(self, items: Sequence[Planned | Malformed], rate: float) -> None:
        start = time.monotonic()
        for index, item in enumerate(items):
            if self._stop.is_set():
                break
            due = start + index / rate
            while (pause := due - time.monotonic()) > 0:
                self._producer.poll(pause)  # serves delivery reports; may return before the pause is over
            self._produce(index, item)
            self.handed = index + 1
        self._producer.flush(60)

    def _produce(self, index: int, item: Planned | Malformed) -> None:
        key: bytes | None
        value: bytes | None
        pairs: Sequence[tuple[str, bytes]]
        if isinstance(item, Planned):
            encoded = self._codec.encode_command(item.command)
            key, value, pairs = encoded.key, encoded.value, encoded.headers
        else:
            key, value, pairs = item.key, item.value, item.headers
        headers: list[tuple[str, str | bytes | None]] = [(k, v) for k, v in pairs]
        self._sent_at[index] = time.monotonic()

        def delivered(error: Any, message: Message) -> None:
            if error is not None:
                self.failed[index] = str(error)
            else:
                self.located[index] = Located(
                    int(message.partition() or 0), int(message.offset() or 0), self._sent_at[index]
                )

        while True:
            try:
                self._producer.produce(
                    self._topic, key=key, value=value, headers=headers, on_delivery=delivered
                )
                return
            except BufferError:  # the local queue is full: serve delivery reports, then go on
                self._producer.poll(0.05)
