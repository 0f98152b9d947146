"""The outbox: sends through Faust's producer and makes table writes durable, in shared flush rounds; and a
table that tells when one key's write is durable, so a write waits for its own record, not for a flush."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import faust
from faust.types import FutureMessage

from schemas.codec import EncodedMessage
from streams.tables import StoreReadTable

__all__ = ["FaustOutbox", "ReceiptTable"]


class ReceiptTable(StoreReadTable):
    """A Faust table that keeps, per key, the future of its newest changelog record until the broker has it.

    Why: making one IN_FLIGHT entry durable through :meth:`FaustOutbox.durable` waits for a flush of every
    topic (every answer in flight too), and faust's producer buffer flush gives up after 0.1 s without a send
    (``ProducerBuffer.flush_atmost``), so under load it could return before the entry was even handed to the
    producer. The record's own future resolves exactly when the broker acknowledged it (``Topic._on_published``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._receipts: dict[Any, FutureMessage] = {}

    def send_changelog(self, partition: int | None, key: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        sent: FutureMessage = super().send_changelog(partition, key, value, *args, **kwargs)
        self._receipts[key] = sent
        sent.add_done_callback(partial(self._received, key))
        return sent

    def _received(self, key: Any, sent: FutureMessage) -> None:
        if self._receipts.get(key) is sent:
            del self._receipts[key]

    async def acknowledged(self, key: Any) -> None:
        """Return once the newest write of ``key`` is on the broker; raise what its send raised."""
        sent = self._receipts.get(key)
        if sent is not None:
            await asyncio.shield(sent)


class FaustOutbox:
    """Sends through Faust's producer and waits for the broker's acknowledgement."""

    def __init__(self, app: faust.App) -> None:
        self._app = app
        self._next_flush: asyncio.Future[None] | None = None
        self._flusher: asyncio.Task[None] | None = None

    async def send(self, topic: str, message: EncodedMessage, partition: int | None = None) -> None:
        pending = await self._app.producer.send(
            topic, message.key, message.value, partition, None, list(message.headers)
        )
        await pending

    async def durable(self) -> None:
        """Callers share flush rounds: each joins the next round to start (it covers everything the caller
        buffered before), so a hundred concurrent writes cost one flush, not a hundred interleaved ones
        (measured: per-caller flushes took 27% of the worker's CPU under load)."""
        if self._next_flush is None:
            self._next_flush = asyncio.get_running_loop().create_future()
        joined = self._next_flush
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_rounds())
        await asyncio.shield(joined)

    async def _flush_rounds(self) -> None:
        while self._next_flush is not None:
            current, self._next_flush = self._next_flush, None
            try:
                await self._app.producer.flush()
            except Exception as exc:  # every caller of this round sees the failure
                current.set_exception(exc)
            else:
                current.set_result(None)
