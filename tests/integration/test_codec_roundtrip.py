"""Every envelope variant survives a real topic on a real broker, headers included."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Consumer, Message, Producer
from pydantic import BaseModel

from schemas.codec import (
    EncodedMessage,
    decode_command,
    decode_error,
    decode_result,
    encode_command,
    encode_error,
    encode_result,
)
from schemas.envelopes import CommandType
from tests.fixtures.schemas.samples import ERRORS, command, result

pytestmark = pytest.mark.integration

TRACE = [("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]


def _produce(bootstrap: str, topic: str, messages: list[EncodedMessage]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for message in messages:
        headers: list[tuple[str, str | bytes | None]] = [*message.headers]
        producer.produce(topic, key=message.key, value=message.value, headers=headers)
    assert producer.flush(30) == 0


def _consume(bootstrap: str, topic: str, group: str, count: int, timeout: float = 60.0) -> list[Message]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    received: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while len(received) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                received.append(message)
    finally:
        consumer.close()
    assert len(received) == count, f"received {len(received)} of {count}"
    return received


def _round_trip(
    bootstrap: str,
    topic: str,
    group: str,
    sent: list[BaseModel],
    encode: Callable[..., EncodedMessage],
    decode: Callable[..., Any],
) -> None:
    encoded = [encode(envelope, passthrough_headers=TRACE) for envelope in sent]
    _produce(bootstrap, topic, encoded)
    received = _consume(bootstrap, topic, group, len(sent))
    for envelope, message, original in zip(sent, received, encoded, strict=True):
        assert message.key() == original.key
        assert message.headers() == original.headers
        assert decode(message.value(), message.headers(), message.key()) == envelope


def test_commands_round_trip(
    kafka_bootstrap: str, topic_factory: Callable[..., str], group_factory: Callable[[], str]
) -> None:
    sent: list[BaseModel] = [command(command_type) for command_type in CommandType]
    _round_trip(
        kafka_bootstrap, topic_factory("codec-cmd"), group_factory(), sent, encode_command, decode_command
    )


def test_results_round_trip(
    kafka_bootstrap: str, topic_factory: Callable[..., str], group_factory: Callable[[], str]
) -> None:
    sent: list[BaseModel] = [result(command_type) for command_type in CommandType]
    _round_trip(
        kafka_bootstrap, topic_factory("codec-res"), group_factory(), sent, encode_result, decode_result
    )


def test_errors_round_trip(
    kafka_bootstrap: str, topic_factory: Callable[..., str], group_factory: Callable[[], str]
) -> None:
    sent: list[BaseModel] = list(ERRORS.values())
    _round_trip(
        kafka_bootstrap, topic_factory("codec-err"), group_factory(), sent, encode_error, decode_error
    )
