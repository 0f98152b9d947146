"""The platform client against a real broker and a fake worker.

The fake worker is a fake of the *worker*, not of Kafka: a confluent consumer on the commands topic that
answers each command through the codec, with behaviour chosen by the practice id:

- ``ok-*``: the result of the command type (a search answers with one patient whose id is the command id)
- ``error-<CODE>``: an error event with that code
- ``dup-*``: the result three times, the copies with other payloads (at-least-once answers; one topic and
  key, so their order is fixed; a duplicate on the other topic is covered by the matcher's unit tests)
- ``silent-*``: no answer
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner  # type: ignore[import-untyped]
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from typer.testing import CliRunner

import streams.tracing
from adapters.domain import (
    AppointmentCreateData,
    AppointmentUpdateData,
    DateRange,
    Patient,
    PatientCreateData,
    PatientSearchQuery,
    PatientUpdateData,
)
from adapters.errors import ErrorCode
from cli import send as send_cli
from client.relay import (
    Answer,
    ClientTopics,
    CommandFailed,
    ConflictError,
    NotFoundError,
    PMSRelayClient,
    PMSUnavailableError,
    RelayUnavailable,
    ReplyTimeout,
    build_command,
)
from schemas import cloudevents as ce
from schemas.codec import EncodedMessage, decode_command, encode_error, encode_result
from schemas.envelopes import (
    CommandEnvelope,
    CommandType,
    ErrorEnvelope,
    ListLocationsPayload,
    PatientList,
    ResultEnvelope,
    ResultPayload,
)
from tests.fixtures.schemas.samples import RESULT_PAYLOADS, T0
from tests.kafka_fixtures import TopicFactory, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

COMMAND_PARTITIONS = 6


# -- the fake worker ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    command: CommandEnvelope
    key: bytes | None
    headers: list[tuple[str, bytes | None]]
    partition: int


def _result(command: CommandEnvelope, payload: ResultPayload, attempts: int = 1) -> ResultEnvelope:
    return ResultEnvelope(
        command_id=command.command_id,
        command_type=command.command_type,
        practice_id=command.practice_id,
        pms="DENTRIX",
        completed_at=datetime.now(UTC),
        attempts=attempts,
        duration_ms=3,
        payload=payload,
    )


def _error(command: CommandEnvelope, code: ErrorCode) -> ErrorEnvelope:
    return ErrorEnvelope(
        command_id=command.command_id,
        command_type=command.command_type,
        practice_id=command.practice_id,
        code=code,
        retryable=code in (ErrorCode.UNAVAILABLE, ErrorCode.RATE_LIMITED),
        message=f"fake {code.value.lower()}",
        pms="DENTRIX",
        attempts=2,
        http_status=409 if code is ErrorCode.CONFLICT else None,
        failed_at=datetime.now(UTC),
    )


def _answers(command: CommandEnvelope) -> list[Answer]:
    behaviour, _, rest = command.practice_id.partition("-")
    payload = RESULT_PAYLOADS[command.command_type]
    if command.command_type is CommandType.SEARCH_PATIENTS:
        payload = PatientList(patients=(Patient(id=str(command.command_id), first_name="A", last_name="B"),))
    if behaviour == "error":
        return [_error(command, ErrorCode(rest))]
    if behaviour == "dup":
        copies = [
            PatientList(patients=(Patient(id=f"copy-{n}", first_name="A", last_name="B"),)) for n in (2, 3)
        ]
        return [_result(command, payload), *(_result(command, copy, 2) for copy in copies)]
    if behaviour == "silent":
        return []
    return [_result(command, payload)]


class FakeWorker:
    def __init__(self, bootstrap: str, topics: ClientTopics, group: str) -> None:
        self.topics = topics
        self.seen: list[Seen] = []
        self._stop = threading.Event()
        self._consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
        )
        self._producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1})
        self._thread = threading.Thread(target=self._run, name="fake-worker", daemon=True)

    def start(self) -> None:
        partitions = [
            TopicPartition(self.topics.commands, p, OFFSET_BEGINNING) for p in range(COMMAND_PARTITIONS)
        ]
        self._consumer.assign(partitions)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def wait_seen(self, count: int, timeout: float = 20.0) -> list[Seen]:
        deadline = time.monotonic() + timeout
        while len(self.seen) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.seen) >= count, f"the fake worker saw {len(self.seen)} of {count} commands"
        return self.seen

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                message = self._consumer.poll(0.05)
                if message is not None and message.error() is None:
                    self._answer(message)
                self._producer.poll(0)
        finally:
            self._producer.flush(10)
            self._consumer.close()

    def _answer(self, message: Any) -> None:
        headers = list(message.headers() or [])
        command = decode_command(message.value(), headers, message.key())
        self.seen.append(Seen(command, message.key(), headers, message.partition()))
        for answer in _answers(command):
            passthrough = ce.trace_headers(headers)
            if isinstance(answer, ResultEnvelope):
                self._produce(self.topics.results, encode_result(answer, passthrough_headers=passthrough))
            else:
                self._produce(self.topics.errors, encode_error(answer, passthrough_headers=passthrough))

    def _produce(self, topic: str, encoded: EncodedMessage) -> None:
        headers: list[tuple[str, str | bytes | None]] = list(encoded.headers)
        self._producer.produce(topic, key=encoded.key, value=encoded.value, headers=headers)
        self._producer.flush(10)  # in order: a duplicate must not overtake its first answer


# -- fixtures ----------------------------------------------------------------------------------------------------


@pytest.fixture
def topics(topic_factory: TopicFactory) -> ClientTopics:
    return ClientTopics(
        commands=topic_factory("cmd", partitions=COMMAND_PARTITIONS),
        results=topic_factory("res", partitions=3),
        errors=topic_factory("err", partitions=2),
    )


@pytest.fixture
def worker(
    kafka_bootstrap: str, topics: ClientTopics, group_factory: Callable[[], str]
) -> Iterator[FakeWorker]:
    fake = FakeWorker(kafka_bootstrap, topics, group_factory())
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
async def client(
    kafka_bootstrap: str, topics: ClientTopics, worker: FakeWorker
) -> AsyncIterator[PMSRelayClient]:
    async with PMSRelayClient(kafka_bootstrap, topics=topics, timeout=20.0) as relay:
        yield relay


# -- tests -------------------------------------------------------------------------------------------------------


async def test_each_command_gets_its_typed_result(client: PMSRelayClient) -> None:
    day = DateRange(start=T0, end=T0 + timedelta(days=1))
    appointment = AppointmentCreateData(
        patient_id="P-1", location_id="L-1", operatory_id="O-1", start=T0, end=T0 + timedelta(minutes=30)
    )
    new_patient = PatientCreateData(first_name="A", last_name="B", date_of_birth=date(1990, 1, 31))
    command_id = uuid.uuid4()

    patients = await client.search_patients("ok-1", PatientSearchQuery(last_name="B"), command_id=command_id)
    assert [p.id for p in patients] == [str(command_id)]
    assert await client.create_patient("ok-1", new_patient) == RESULT_PAYLOADS[CommandType.CREATE_PATIENT]
    updated = await client.update_patient("ok-1", "P-2", PatientUpdateData(email="x@example.invalid"))
    assert updated == RESULT_PAYLOADS[CommandType.UPDATE_PATIENT]
    appointments = await client.list_appointments("ok-1", "L-1", day)
    assert appointments == list(RESULT_PAYLOADS[CommandType.LIST_APPOINTMENTS].appointments)  # type: ignore[union-attr]
    assert (
        await client.create_appointment("ok-1", appointment)
        == RESULT_PAYLOADS[CommandType.CREATE_APPOINTMENT]
    )
    moved = await client.update_appointment("ok-1", "A-1", AppointmentUpdateData(operatory_id="O-2"))
    assert moved == RESULT_PAYLOADS[CommandType.UPDATE_APPOINTMENT]
    locations = await client.list_locations("ok-1")
    assert locations == list(RESULT_PAYLOADS[CommandType.LIST_LOCATIONS].locations)  # type: ignore[union-attr]
    operatories = await client.list_operatories("ok-1", "L-1")
    assert operatories == list(RESULT_PAYLOADS[CommandType.LIST_OPERATORIES].operatories)  # type: ignore[union-attr]
    assert await client.validate_connection("ok-1") == RESULT_PAYLOADS[CommandType.VALIDATE_CONNECTION]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (ErrorCode.CONFLICT, ConflictError),
        (ErrorCode.NOT_FOUND, NotFoundError),
        (ErrorCode.UNAVAILABLE, PMSUnavailableError),
        (ErrorCode.INTERNAL, CommandFailed),
    ],
)
async def test_an_error_event_raises_its_typed_exception(
    client: PMSRelayClient, code: ErrorCode, kind: type[CommandFailed]
) -> None:
    command_id = uuid.uuid4()
    with pytest.raises(kind) as caught:
        await client.list_locations(f"error-{code.value}", command_id=command_id)
    assert type(caught.value) is kind
    assert caught.value.code is code
    assert caught.value.command_id == command_id
    assert caught.value.attempts == 2


async def test_no_answer_raises_reply_timeout(client: PMSRelayClient, worker: FakeWorker) -> None:
    command_id = uuid.uuid4()
    with pytest.raises(ReplyTimeout) as caught:
        await client.list_locations("silent-1", command_id=command_id, timeout=1.0)
    assert caught.value.command_id == command_id
    assert worker.wait_seen(1)[0].command.command_id == command_id
    # The client is still usable afterwards.
    assert await client.validate_connection("ok-1")


async def test_duplicate_answers_are_ignored(client: PMSRelayClient) -> None:
    command_id = uuid.uuid4()
    mine: list[Answer] = []
    all_three = asyncio.Event()

    async def watch() -> None:
        async for answer in client.answers():
            if answer.command_id == command_id:
                mine.append(answer)
                if len(mine) == 3:
                    all_three.set()

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0)  # let the watcher register before the answers come
    patients = await client.search_patients("dup-1", PatientSearchQuery(last_name="B"), command_id=command_id)
    assert [p.id for p in patients] == [str(command_id)]
    # The copies did arrive, and changed nothing.
    async with asyncio.timeout(20):
        await all_three.wait()
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    assert [a.attempts for a in mine] == [1, 2, 2]
    assert await client.validate_connection("ok-2")  # later commands are unaffected


async def test_fifty_concurrent_requests_are_all_matched(client: PMSRelayClient) -> None:
    ids = [uuid.uuid4() for _ in range(50)]
    query = PatientSearchQuery(last_name="B")
    answers = await asyncio.gather(
        *(
            client.search_patients(f"ok-{i % 7}", query, command_id=command_id)
            for i, command_id in enumerate(ids)
        )
    )
    assert [[p.id for p in patients] for patients in answers] == [[str(command_id)] for command_id in ids]


async def test_fire_and_forget_lands_keyed_partitioned_and_traced(
    client: PMSRelayClient, worker: FakeWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(streams.tracing, "tracer", lambda: provider.get_tracer("test"))
    practices = [f"silent-{n}" for n in range(8)]
    commands = [build_command(p, ListLocationsPayload(), deadline=60) for p in practices]

    sent = [await client.send(command, wait=False) for command in commands]

    assert sent == [command.command_id for command in commands]
    by_id = {s.command.command_id: s for s in worker.wait_seen(len(commands))}
    partitioner = DefaultPartitioner()
    every = list(range(COMMAND_PARTITIONS))
    spans = {span.attributes["messaging.message.id"]: span for span in exporter.get_finished_spans()}  # type: ignore[index]
    for command in commands:
        seen = by_id[command.command_id]
        assert seen.command == command
        assert seen.key == command.practice_id.encode()
        assert seen.partition == partitioner(seen.key, every, every)  # where Java/aiokafka would put it
        assert ce.header(seen.headers, "ce_id") == str(command.command_id)
        assert ce.header(seen.headers, "ce_type") == "pms.command.ListLocations.v1"
        assert ce.header(seen.headers, "content-type") == "application/avro"
        span = spans[str(command.command_id)]
        assert span.kind is SpanKind.PRODUCER
        traceparent = ce.header(seen.headers, "traceparent")
        context = span.context
        assert traceparent == f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    assert len({s.partition for s in by_id.values()}) > 1


async def test_a_missing_topic_fails_at_start(kafka_bootstrap: str, topics: ClientTopics) -> None:
    missing = ClientTopics(topics.commands, unique_name("absent"), topics.errors)
    with pytest.raises(RelayUnavailable, match="does not exist"):
        async with PMSRelayClient(kafka_bootstrap, topics=missing, timeout=5.0):
            pass


# -- pms-relay send, end to end ----------------------------------------------------------------------------------


@pytest.fixture
def prefixed_topics(kafka_admin: AdminClient) -> Iterator[ClientTopics]:
    topics = ClientTopics.for_prefix(f"{unique_name('cli')}.")
    names = [topics.commands, topics.results, topics.errors]
    futures = kafka_admin.create_topics(
        [NewTopic(name, num_partitions=COMMAND_PARTITIONS, replication_factor=-1) for name in names]
    )
    for future in futures.values():
        future.result(30)
    for name in names:
        TopicFactory(kafka_admin)._wait_leaders(name, COMMAND_PARTITIONS)
    yield topics
    for future in kafka_admin.delete_topics(names).values():
        with contextlib.suppress(Exception):
            future.result(10)


def test_send_cli_round_trip(
    kafka_bootstrap: str, prefixed_topics: ClientTopics, group_factory: Callable[[], str]
) -> None:
    fake = FakeWorker(kafka_bootstrap, prefixed_topics, group_factory())
    fake.start()
    prefix = prefixed_topics.commands.removesuffix("pms.commands")
    common = ["--bootstrap-servers", kafka_bootstrap, "--prefix", prefix, "--timeout", "20"]
    runner = CliRunner()
    try:
        ok = runner.invoke(send_cli.app, ["ListLocations", "-p", "ok-1", *common])
        failed = runner.invoke(send_cli.app, ["validate-connection", "-p", "error-CONFLICT", *common])
    finally:
        fake.stop()
    assert ok.exit_code == 0, ok.output
    assert "Main" in ok.output
    assert failed.exit_code == 1, failed.output
    assert "CONFLICT" in failed.output
