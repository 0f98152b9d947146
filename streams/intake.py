"""Intake: a Faust event becomes a scheduled job of the pipeline.

Each message is tracked in the commit ledger when it is taken in (so nothing after it is committed before it
finishes), read once, and submitted to the scheduler in its practice's and subject's order. Its job runs the
pipeline and then finishes the message in the ledger; a job whose partition was revoked in the meantime does
nothing (the next owner reads the message again).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from faust.streams import _current_event
from faust.types import EventT

from schemas.codec import Codec
from streams.commits import CommitLedger, Ticket
from streams.pipeline import Pipeline
from streams.received import Incoming, Received, read
from streams.scheduler import Scheduler

__all__ = ["Intake", "event_headers", "incoming"]

Event = EventT[Any]


class Intake:
    def __init__(
        self, *, ledger: CommitLedger, pipeline: Pipeline, scheduler: Scheduler, codec: Codec
    ) -> None:
        self._ledger = ledger
        self._pipeline = pipeline
        self._scheduler = scheduler
        self._codec = codec

    async def submit(self, event: Event, ticket: Ticket | None = None) -> None:
        """Take ``event`` in (``ticket``: it was tracked already, by the due gates)."""
        message = event.message
        ticket = ticket or self._ledger.track(message.tp, message.offset)
        if ticket is None:  # its partition is being revoked: the next owner reads it again
            return
        received = read(incoming(event), self._codec)
        await self._scheduler.submit(
            received.practice_id,
            received.subject,
            self._job(event, received, ticket, defer=False),
            partition=message.tp,
            overflow=self._job(event, received, ticket, defer=True),
        )

    def _job(
        self, event: Event, received: Received, ticket: Ticket, *, defer: bool
    ) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if ticket.stale:  # admitted after its partition was revoked
                return
            # Table writes go to the changelog partition of the event being processed.
            _current_event.set(weakref.ref(event))
            await self._pipeline.handle(received, defer=defer)
            ticket.finish()

        return run


def incoming(event: Event) -> Incoming:
    message = event.message
    return Incoming(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=event_headers(event),
    )


def event_headers(event: Event) -> list[tuple[str, bytes | None]]:
    headers = event.message.headers or ()
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(key, value) for key, value in items]
