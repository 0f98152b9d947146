"""A message as the worker read it, read once: every stage of the pipeline works from this one object.

``read`` decodes the command, its journey (hop headers), its ordering subject and its redrive id once, when
the message is taken in; nothing downstream parses a header again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from adapters.errors import ErrorCode
from schemas.codec import Codec, DecodeError
from schemas.envelopes import CommandEnvelope
from streams.hops import Hop, Origin, read_hop
from streams.ordering import subject_of
from streams.redrive import redrive_id
from streams.tracing import TRACE_HEADERS

__all__ = ["Incoming", "Received", "read"]

_monotonic = time.monotonic  # one name for the clock, so tests can drive it without touching asyncio's


@dataclass(frozen=True)
class Incoming:
    """One message as read from the commands topic or a retry tier."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]]


@dataclass(frozen=True)
class Received:
    message: Incoming
    command: CommandEnvelope | None  # None: undecodable, see ``error``
    error: DecodeError | None
    hop: Hop | None  # None for an original command
    subject: str | None  # the ordering key within its practice (None: unordered)
    redrive: str | None  # the dead-letter redrive this copy belongs to, if any
    read_at: float | None = None  # monotonic seconds when it was taken in (None: made by hand, in tests)

    @cached_property
    def command_id(self) -> str:
        # Asked for about four times per message; str(UUID) is not free.
        return str(self.command.command_id) if self.command is not None else ""

    @property
    def practice_id(self) -> str:
        return self.command.practice_id if self.command is not None else ""

    @property
    def hop_number(self) -> int:
        """Which copy this is: 0 the original, n the n-th retry-tier copy."""
        return self.hop.hop if self.hop is not None else 0

    @property
    def first_seen(self) -> datetime | None:
        return self.hop.first_seen if self.hop is not None else None

    def seconds_since_read(self) -> float | None:
        """How long ago this message was read (None: made by hand)."""
        return None if self.read_at is None else max(0.0, _monotonic() - self.read_at)

    def taken_in(self, now: datetime) -> datetime:
        """When the relay first took this command in: its first copy's time for a retry-tier copy, else when
        this message was read (``now`` less the monotonic time since)."""
        if self.hop is not None:
            return self.hop.first_seen
        since = self.seconds_since_read()
        return now if since is None else now - timedelta(seconds=since)

    def origin(self) -> Origin:
        """Where the command first came from (kept across every hop)."""
        if self.hop is not None:
            return self.hop.origin
        return Origin(self.message.topic, self.message.partition, self.message.offset)

    def next_hop(
        self,
        now: datetime,
        *,
        attempts: int,
        code: ErrorCode,
        error_class: str | None,
        error_message: str | None,
        due_at: datetime | None = None,
    ) -> Hop:
        """The journey headers of this message's next copy (a retry tier or the dead-letter topic)."""
        return Hop(
            hop=self.hop_number + 1,
            attempts=attempts,
            first_seen=self.taken_in(now),
            origin=self.origin(),
            due_at=due_at,
            error_code=code.value,
            error_class=error_class,
            error_message=error_message,
        )

    def trace_headers(self) -> list[tuple[str, bytes]]:
        """The trace context the message carried, to carry on to what it causes."""
        return [(k, v) for k, v in self.message.headers if k in TRACE_HEADERS and v is not None]


def read(message: Incoming, codec: Codec) -> Received:
    """Everything the pipeline needs to know about ``message``, decoded once. Never raises."""
    read_at = _monotonic()
    try:
        command = codec.decode_command(message.value, message.headers, message.key)
    except DecodeError as exc:
        return Received(message, None, exc, read_hop(message.headers), None, None, read_at)
    return Received(
        message,
        command,
        None,
        read_hop(message.headers),
        subject_of(command),
        redrive_id(message.headers),
        read_at,
    )
