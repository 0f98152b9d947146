"""A scripted history on the real broker, for the audit: commands and answers with explicit timestamps.

Every message is produced with its Kafka timestamp set (and its envelope's own instant equal to it), and
flushed at once, so its partition and offset are known when the next message is built: a dead letter names
its command's origin, an undecodable input's error is named after where the input was read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer

from schemas.answers import answer_event_id, undecodable_event_id
from schemas.codec import Codec, EncodedMessage
from schemas.envelopes import CommandEnvelope, ErrorEnvelope, ResultEnvelope
from streams.hops import Hop, Origin, write_hop
from streams.topics import TopicNames
from tests.commands import command

__all__ = ["Produced", "Script", "instant"]


def instant(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True)
class Produced:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    message: EncodedMessage
    command: CommandEnvelope | None = None
    ce_id: str | None = None


@dataclass
class Script:
    producer: Producer
    topics: TopicNames
    codec: Codec = field(default_factory=Codec)
    log: list[Produced] = field(default_factory=list)

    def command(
        self, practice: str, command_type: str, payload: dict[str, Any], at_ms: int, **fields: Any
    ) -> Produced:
        envelope = command(practice, command_type, payload, issued_at=instant(at_ms), **fields)
        encoded = self.codec.encode_command(envelope)
        return self._send(self.topics.commands, encoded, at_ms, command=envelope)

    def unsent(self, practice: str, command_type: str, payload: dict[str, Any]) -> Produced:
        """A command that is never produced, for an answer to nothing."""
        envelope = command(practice, command_type, payload)
        return Produced("", -1, -1, 0, self.codec.encode_command(envelope), command=envelope)

    def result(
        self, of: Produced, at_ms: int, *, payload: Any, attempts: int = 1, pms: str = "DENTRIX", **kw: Any
    ) -> Produced:
        assert of.command is not None
        envelope = ResultEnvelope.model_validate(
            {
                "command_id": of.command.command_id,
                "command_type": of.command.command_type,
                "practice_id": of.command.practice_id,
                "pms": pms,
                "completed_at": instant(at_ms),
                "attempts": attempts,
                "duration_ms": 5,
                "payload": payload,
            }
        )
        ce_id = kw.get("ce_id") or answer_event_id(str(of.command.command_id))
        return self._send(
            self.topics.results, self.codec.encode_result(envelope, event_id=ce_id), at_ms, ce_id=ce_id
        )

    def error(
        self,
        of: Produced | None,
        at_ms: int,
        *,
        code: str,
        attempts: int = 1,
        message: str = "conflict",
        ce_id: str | None = None,
    ) -> Produced:
        command_ = of.command if of is not None else None
        envelope = ErrorEnvelope.model_validate(
            {
                "command_id": command_.command_id if command_ else None,
                "command_type": command_.command_type if command_ else None,
                "practice_id": command_.practice_id if command_ else None,
                "code": code,
                "retryable": False,
                "message": message,
                "pms": "DENTRIX" if command_ else None,
                "attempts": attempts,
                "failed_at": instant(at_ms),
            }
        )
        if ce_id is None:
            assert of is not None
            ce_id = (
                answer_event_id(str(command_.command_id))
                if command_
                else undecodable_event_id(of.topic, of.partition, of.offset)
            )
        return self._send(
            self.topics.errors, self.codec.encode_error(envelope, event_id=ce_id), at_ms, ce_id=ce_id
        )

    def dead_letter(self, of: Produced, at_ms: int, *, code: str, attempts: int) -> Produced:
        hop = Hop(
            hop=attempts,
            attempts=attempts,
            first_seen=instant(of.timestamp_ms),
            origin=Origin(of.topic, of.partition, of.offset),
            error_code=code,
            error_class="Unavailable",
        )
        copy = EncodedMessage(of.message.key, of.message.value, write_hop(of.message.headers, hop))
        return self._send(self.topics.dead_letters, copy, at_ms)

    def again(self, produced: Produced, at_ms: int) -> Produced:
        """The very same message again (a replayed answer: same bytes, same ce_id)."""
        return self._send(produced.topic, produced.message, at_ms, ce_id=produced.ce_id)

    def raw(self, topic: str, value: bytes, at_ms: int, key: bytes | None = None) -> Produced:
        return self._send(topic, EncodedMessage(key, value, []), at_ms)

    def _send(self, topic: str, message: EncodedMessage, at_ms: int, **about: Any) -> Produced:
        delivered: list[Any] = []
        self.producer.produce(
            topic,
            key=message.key,
            value=message.value,
            headers=message.headers,
            timestamp=at_ms,
            on_delivery=lambda err, msg: delivered.append((err, msg)),
        )
        self.producer.flush(30)
        ((error, record),) = delivered
        assert error is None, error
        produced = Produced(topic, record.partition(), record.offset(), at_ms, message, **about)
        self.log.append(produced)
        return produced


def new_id() -> str:
    return str(uuid.uuid4())
