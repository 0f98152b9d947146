"""What the pipeline sends: answers (results, errors, replays), retry-tier copies and dead letters.

Each is encoded once, carries the trace context of the message that caused it (injected once, inside the
PRODUCER span), and is on the broker when the call returns. Nothing here decides anything: the pipeline says
what to send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from pydantic import BaseModel

from adapters.errors import ErrorCode, PMSError
from schemas.answers import answer_event_id, undecodable_event_id
from schemas.codec import Codec, EncodedMessage
from schemas.envelopes import ErrorEnvelope, ResultEnvelope
from streams.hops import Hop, write_hop
from streams.inbox import StoredAnswer
from streams.observer import Observer
from streams.received import Received
from streams.registry import Practice
from streams.tracing import TRACE_HEADERS, inject

__all__ = ["Outbound", "Outbox", "Routes", "default_message", "relay_message"]


class Outbox(Protocol):
    async def send(self, topic: str, message: EncodedMessage, partition: int | None = None) -> None:
        """Return once the broker has the message (in ``partition``, or the key's partition when None)."""

    async def durable(self) -> None:
        """Return once every table write made so far is on the broker."""


@dataclass(frozen=True)
class Routes:
    """Topic names the pipeline sends to."""

    results: str
    errors: str
    retries: tuple[str, ...]  # one per tier, shortest delay first
    dead_letters: str


_MESSAGES = {
    ErrorCode.DEADLINE_EXCEEDED: "the command's deadline passed before it could be completed",
    ErrorCode.CIRCUIT_OPEN: "the practice's circuit is open",
    ErrorCode.RATE_LIMITED: "the practice is rate limited",
    ErrorCode.UNKNOWN_PRACTICE: "unknown practice",
}


def relay_message(code: ErrorCode) -> str | None:
    """What the relay says of a failure it decided itself (no PMS message to pass on), if anything."""
    return _MESSAGES.get(code)


def default_message(code: ErrorCode) -> str:
    """The text of an error answer the relay decided; codes only."""
    return _MESSAGES.get(code, code.value.lower())


class Outbound:
    def __init__(
        self,
        *,
        routes: Routes,
        codec: Codec,
        outbox: Outbox,
        observer: Observer,
        clock: Callable[[], float],
    ) -> None:
        self.routes = routes
        self._codec = codec
        self._outbox = outbox
        self._observer = observer
        self._clock = clock

    # -- answers ---------------------------------------------------------------------------------------------

    async def result(
        self, received: Received, practice: Practice, payload: BaseModel, attempts: int, redrive: str | None
    ) -> StoredAnswer:
        assert received.command is not None
        command = received.command
        now = self._now()
        started = received.taken_in(now)
        result = ResultEnvelope.model_validate(
            {
                "command_id": command.command_id,
                "command_type": command.command_type,
                "practice_id": command.practice_id,
                "pms": practice.pms,
                "completed_at": now,
                "attempts": max(attempts, 1),
                "duration_ms": max(0, int((now - started).total_seconds() * 1000)),
                "payload": payload,
            }
        )
        encoded = self._codec.encode_result(
            result,
            passthrough_headers=received.trace_headers(),
            event_id=answer_event_id(received.command_id, redrive),
        )
        await self._send(self.routes.results, encoded, received)
        return _stored("result", encoded)

    async def error(
        self,
        received: Received,
        practice: Practice | None,
        code: ErrorCode,
        attempts: int,
        redrive: str | None,
        *,
        error: PMSError | None = None,
    ) -> StoredAnswer:
        assert received.command is not None
        command = received.command
        envelope = ErrorEnvelope(
            command_id=command.command_id,
            command_type=command.command_type,
            practice_id=command.practice_id,
            code=code,
            retryable=error.retryable if error is not None else False,
            message=error.message if error is not None else default_message(code),
            pms=practice.pms if practice is not None else None,
            attempts=attempts,
            http_status=error.http_status if error is not None else None,
            failed_at=self._now(),
        )
        encoded = self._codec.encode_error(
            envelope,
            passthrough_headers=received.trace_headers(),
            event_id=answer_event_id(received.command_id, redrive),
        )
        await self._send(self.routes.errors, encoded, received)
        return _stored("error", encoded)

    async def replay(self, received: Received, answer: StoredAnswer) -> None:
        """The stored answer again, as the same event (same ce_id): consumers can drop it as a duplicate."""
        topic = self.routes.results if answer.kind == "result" else self.routes.errors
        headers = [*answer.headers, *received.trace_headers()]
        await self._send(topic, EncodedMessage(answer.key, answer.value, headers), None)

    async def undecodable(self, received: Received) -> None:
        """Bad input: a dead letter of the raw bytes, and a VALIDATION error named after where it was read."""
        exc = received.error
        assert exc is not None
        message = received.message
        await self.dead_letter(received, ErrorCode.VALIDATION, 0, exc)
        envelope = ErrorEnvelope(
            command_id=exc.command_id,
            command_type=exc.command_type,
            practice_id=exc.practice_id,
            code=ErrorCode.VALIDATION,
            retryable=False,
            message=exc.message,
            failed_at=self._now(),
        )
        event_id = undecodable_event_id(message.topic, message.partition, message.offset)
        encoded = self._codec.encode_error(envelope, event_id=event_id)
        await self._send(self.routes.errors, encoded, None)

    async def internal(self, received: Received, exc: Exception, redrive: str | None) -> StoredAnswer | None:
        """A bug, not a PMS failure: dead-letter the message (for redrive after a fix) and answer INTERNAL."""
        command = received.command
        await self.dead_letter(received, ErrorCode.INTERNAL, 0, exc)
        envelope = ErrorEnvelope(
            command_id=command.command_id if command is not None else None,
            command_type=command.command_type if command is not None else None,
            practice_id=command.practice_id if command is not None else None,
            code=ErrorCode.INTERNAL,
            retryable=False,
            message=f"internal error ({type(exc).__name__}); the command was dead-lettered",
            failed_at=self._now(),
        )
        message = received.message
        event_id = (
            answer_event_id(received.command_id, redrive)
            if command is not None
            else undecodable_event_id(message.topic, message.partition, message.offset)
        )
        encoded = self._codec.encode_error(envelope, event_id=event_id)
        await self._send(self.routes.errors, encoded, received)
        return _stored("error", encoded) if command is not None else None

    # -- copies ----------------------------------------------------------------------------------------------

    async def retry_copy(self, received: Received, tier: int, hop: Hop) -> None:
        """A copy of ``received`` in retry tier ``tier``, in the partition its tables live in (tiers have the
        source's partition count)."""
        message = received.message
        copy = EncodedMessage(message.key, message.value or b"", write_hop(message.headers, hop))
        await self._send(self.routes.retries[tier], copy, received, partition=message.partition)

    async def dead_letter(
        self, received: Received, code: ErrorCode, attempts: int, error: BaseException | None
    ) -> None:
        """A copy of ``received`` for inspection and redrive, saying why (codes and classes only)."""
        hop = received.next_hop(
            self._now(),
            attempts=attempts,
            code=code,
            error_class=type(error).__name__ if error is not None else None,
            error_message=error.message if isinstance(error, PMSError) else _MESSAGES.get(code),
        )
        message = received.message
        copy = EncodedMessage(message.key, message.value or b"", write_hop(message.headers, hop))
        await self._send(self.routes.dead_letters, copy, received)
        self._observer.dead_lettered(received, code)

    # -- sending ---------------------------------------------------------------------------------------------

    async def _send(
        self, topic: str, encoded: EncodedMessage, received: Received | None, *, partition: int | None = None
    ) -> None:
        with self._observer.sending(topic, received):
            message = EncodedMessage(encoded.key, encoded.value, inject(encoded.headers))
            await self._outbox.send(topic, message, partition)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


def _stored(kind: str, encoded: EncodedMessage) -> StoredAnswer:
    event_headers = tuple((k, v) for k, v in encoded.headers if k not in TRACE_HEADERS)
    return StoredAnswer(kind, encoded.key, encoded.value, event_headers)
