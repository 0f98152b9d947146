"""The platform's side of the contract: send a command to pms.commands and await its answer.

::

    PMSRelayClient ── produce (key = practice id, murmur2) ──► pms.commands ──► worker
          ▲                                                                      │
          └── ReplyMatcher ◄── consumer thread ◄── pms.results / pms.errors ◄────┘
              (pending futures by command id; the answer's ce_correlationid / command_id picks the future)

Every client reads every partition of the answer topics from their end, so it sees its own answers among
everyone else's; answers for other clients are skipped by their ``ce_correlationid`` header without being
decoded. The worker answers at least once, so a second answer for a command is ignored.

Failures are the tree drawn in :mod:`client.replies`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, TypedDict, TypeVar, Unpack, cast, overload

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from pydantic import BaseModel

from adapters import deadline as caller_deadline
from adapters.domain import (
    Appointment,
    AppointmentCreateData,
    AppointmentUpdateData,
    ConnectionStatus,
    DateRange,
    Location,
    Operatory,
    Patient,
    PatientCreateData,
    PatientSearchQuery,
    PatientUpdateData,
)
from adapters.errors import ErrorCode
from client.replies import (
    AccessDenied,
    Answer,
    CommandFailed,
    ConflictError,
    DeadlineExceededError,
    Delivery,
    InvalidCommand,
    NotFoundError,
    PMSUnavailableError,
    RelayClientError,
    RelayUnavailable,
    ReplyMatcher,
    ReplyTimeout,
    UnknownPracticeError,
    UnsupportedError,
    command_failed,
)
from schemas import cloudevents as ce
from schemas.codec import Codec, DecodeError, default_codec
from schemas.envelopes import (
    AppointmentList,
    CommandEnvelope,
    CommandPayload,
    CreateAppointmentPayload,
    CreatePatientPayload,
    ErrorEnvelope,
    ListAppointmentsPayload,
    ListLocationsPayload,
    ListOperatoriesPayload,
    LocationList,
    OperatoryList,
    PatientList,
    ResultEnvelope,
    SearchPatientsPayload,
    UpdateAppointmentPayload,
    UpdatePatientPayload,
    ValidateConnectionPayload,
)
from streams.kafka_access import AccessWatch, KafkaAccessError, list_topics
from streams.kafka_settings import KafkaSettings
from streams.tracing import inject, producer_span

__all__ = [
    "AccessDenied",
    "Answer",
    "CallOptions",
    "ClientTopics",
    "CommandFailed",
    "ConflictError",
    "DeadlineExceededError",
    "Delivery",
    "InvalidCommand",
    "KafkaSettings",
    "NotFoundError",
    "PMSRelayClient",
    "PMSUnavailableError",
    "RelayClientError",
    "RelayUnavailable",
    "ReplyMatcher",
    "ReplyTimeout",
    "UnknownPracticeError",
    "UnsupportedError",
    "build_command",
    "command_failed",
]

_log = logging.getLogger(__name__)
# librdkafka logs through Python logging instead of straight to stderr.
_rdkafka_log = logging.getLogger(f"{__name__}.librdkafka")

_M = TypeVar("_M", bound=BaseModel)
# What a partition answers while its leader is being elected or moved; librdkafka does not flag all as retriable.
_LEADERLESS = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError._TIMED_OUT,
    }
)


# -- topics and commands ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientTopics:
    commands: str
    results: str
    errors: str

    @classmethod
    def for_prefix(cls, prefix: str = "") -> ClientTopics:
        # Spelled like streams.topics.TopicNames (a test pins it) without importing the worker's modules.
        return cls(f"{prefix}pms.commands", f"{prefix}pms.results", f"{prefix}pms.errors")


class CallOptions(TypedDict, total=False):
    """Per-call options of the typed methods."""

    command_id: uuid.UUID
    deadline: float  # seconds from now: the command's expires_at
    requested_by: str
    timeout: float  # seconds to wait for the answer; the client's default otherwise


def build_command(
    practice_id: str,
    payload: CommandPayload,
    *,
    command_id: uuid.UUID | None = None,
    deadline: float | None = None,
    requested_by: str | None = None,
    now: datetime | None = None,
) -> CommandEnvelope:
    """A command envelope for ``payload``. Without ``deadline``, an enclosing ``deadline_scope`` sets it."""
    issued_at = now or datetime.now(UTC)
    seconds = deadline if deadline is not None else caller_deadline.remaining()
    return CommandEnvelope(
        command_id=command_id or uuid.uuid4(),
        command_type=payload.command_type,
        practice_id=practice_id,
        issued_at=issued_at,
        expires_at=issued_at + timedelta(seconds=seconds) if seconds is not None else None,
        requested_by=requested_by,
        payload=payload,
    )


# -- the client ------------------------------------------------------------------------------------------------


class PMSRelayClient:
    """An async request/reply client for the pms-relay contract. Use as ``async with``; share one per process.

    ``kafka`` is where and how to connect: :class:`~streams.kafka_settings.KafkaSettings` (e.g.
    ``KafkaSettings.from_env()`` for SASL_SSL), or bootstrap servers for a PLAINTEXT cluster. Many requests
    may be in flight at once; each awaits its own answer.
    """

    def __init__(
        self,
        kafka: KafkaSettings | str,
        *,
        prefix: str = "",
        topics: ClientTopics | None = None,
        client_id: str = "pms-relay-client",
        timeout: float = 30.0,
        codec: Codec | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.topics = topics or ClientTopics.for_prefix(prefix)
        self.timeout = timeout
        self._codec = codec or default_codec()
        self._matcher = ReplyMatcher()
        self._watchers: set[asyncio.Queue[Answer]] = set()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        settings = kafka if isinstance(kafka, KafkaSettings) else KafkaSettings(bootstrap_servers=kafka)
        # The watch hears librdkafka's refusals (a wrong password, an untrusted certificate), so start() fails
        # at once naming the setting instead of waiting out its timeout.
        self._access = AccessWatch(settings)
        common = settings.confluent(
            **{"client.id": client_id, "logger": _rdkafka_log, "error_cb": self._access}
        )
        self._producer = Producer(
            {
                **common,
                # librdkafka's default (consistent_random, CRC32) would put a practice on another partition
                # than the Java and aiokafka producers do; murmur2_random matches them.
                "partitioner": "murmur2_random",
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "message.timeout.ms": int(max(timeout, 5.0) * 1000),
                **(config or {}),
            }
        )
        self._consumer = Consumer(
            {
                **common,
                # Never joins a group (partitions are assigned by hand), but the id names this client's reads.
                "group.id": f"{client_id}-{uuid.uuid4().hex[:12]}",
                "enable.auto.commit": False,
                "auto.offset.reset": "latest",
                **(config or {}),
            }
        )

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def __aenter__(self) -> PMSRelayClient:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Assign every answer partition at its end, then start reading: no answer to a command sent after
        this returns can be missed."""
        if self._loop is not None:
            raise RelayClientError("client already started")
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._check_topic, self.topics.commands)
        assignment = await asyncio.to_thread(self._end_offsets, (self.topics.results, self.topics.errors))
        self._consumer.assign(assignment)
        for name, target in (("answers", self._read_answers), ("deliveries", self._serve_deliveries)):
            thread = threading.Thread(target=target, name=f"pms-relay-client-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    async def close(self) -> None:
        """Stop waiting (pending requests raise), deliver what was sent, and let go of the cluster."""
        if self._stopping.is_set():
            return
        self._matcher.close(RelayClientError("client closed"))
        await asyncio.to_thread(self._producer.flush, 10.0)
        self._stopping.set()
        if not self._threads:  # never started reading: nobody else will close the consumer
            await asyncio.to_thread(self._consumer.close)
        for thread in self._threads:
            await asyncio.to_thread(thread.join, 10.0)
        self._threads.clear()

    # -- sending -----------------------------------------------------------------------------------------------

    # ``timeout`` rather than the caller's asyncio.timeout (ASYNC109): expiry must forget the pending request
    # and raise a ReplyTimeout that names the command, so the caller can resend it under the same id.
    @overload
    async def send(
        self,
        command: CommandEnvelope,
        *,
        wait: Literal[True] = True,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> ResultEnvelope: ...

    @overload
    async def send(
        self,
        command: CommandEnvelope,
        *,
        wait: Literal[False],
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> uuid.UUID: ...

    async def send(
        self,
        command: CommandEnvelope,
        *,
        wait: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> ResultEnvelope | uuid.UUID:
        """Send ``command``; with ``wait``, return its result or raise its :class:`CommandFailed`.

        Without ``wait``, return the command id once the broker has acknowledged the command."""
        if self._loop is None:
            raise RelayClientError("client not started: use 'async with PMSRelayClient(...)'")
        seconds = self.timeout if timeout is None else timeout
        command_id = command.command_id
        future = self._matcher.expect(command_id) if wait else None
        try:
            async with asyncio.timeout(seconds):
                await self._produce(command)
                if future is None:
                    return command_id
                answer = await future
        except TimeoutError:
            raise ReplyTimeout(command_id, seconds) from None
        finally:
            if future is not None:
                self._matcher.forget(command_id)
        if isinstance(answer, ErrorEnvelope):
            raise command_failed(answer)
        return answer

    async def _produce(self, command: CommandEnvelope) -> None:
        encoded = self._codec.encode_command(command)
        acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        attributes = {
            "messaging.message.id": str(command.command_id),
            "messaging.kafka.message.key": command.practice_id,
            "pms.command_type": command.command_type.value,
            "pms.practice_id": command.practice_id,
        }
        with producer_span(self.topics.commands, attributes):
            headers: list[tuple[str, str | bytes | None]] = list(inject(encoded.headers))
            while True:
                try:
                    self._producer.produce(
                        self.topics.commands,
                        key=encoded.key,
                        value=encoded.value,
                        headers=headers,
                        on_delivery=self._on_delivery(acked),
                    )
                    break
                except BufferError:  # librdkafka's queue is full: wait for deliveries to drain it
                    await asyncio.sleep(0.01)
            await acked

    def _on_delivery(self, acked: asyncio.Future[None]) -> Callable[[KafkaError | None, Message], None]:
        loop = self._loop
        assert loop is not None

        def settle(err: KafkaError | None) -> None:
            if acked.done():
                return
            if err is None:
                acked.set_result(None)
            else:
                acked.set_exception(RelayUnavailable(f"command not delivered: {err.name()} {err.str()}"))

        def report(err: KafkaError | None, _message: Message) -> None:  # on the deliveries thread
            with contextlib.suppress(RuntimeError):  # the loop closed
                loop.call_soon_threadsafe(settle, err)

        return report

    async def _call(self, practice_id: str, payload: CommandPayload, answer: type[_M], **options: Any) -> _M:
        timeout = options.pop("timeout", None)
        command = build_command(practice_id, payload, **options)
        result = await self.send(command, timeout=timeout)
        if not isinstance(result.payload, answer):
            raise CommandFailed(
                ErrorCode.INTERNAL,
                f"answer to {command.command_type.value} carries a {type(result.payload).__name__}",
                command_id=command.command_id,
            )
        return result.payload

    # -- the nine commands -------------------------------------------------------------------------------------

    async def search_patients(
        self, practice_id: str, query: PatientSearchQuery, **options: Unpack[CallOptions]
    ) -> list[Patient]:
        payload = SearchPatientsPayload(query=query)
        return list((await self._call(practice_id, payload, PatientList, **options)).patients)

    async def create_patient(
        self, practice_id: str, data: PatientCreateData, **options: Unpack[CallOptions]
    ) -> Patient:
        return await self._call(practice_id, CreatePatientPayload(patient=data), Patient, **options)

    async def update_patient(
        self, practice_id: str, patient_id: str, updates: PatientUpdateData, **options: Unpack[CallOptions]
    ) -> Patient:
        payload = UpdatePatientPayload(patient_id=patient_id, updates=updates)
        return await self._call(practice_id, payload, Patient, **options)

    async def list_appointments(
        self,
        practice_id: str,
        location_id: str | None,
        date_range: DateRange,
        **options: Unpack[CallOptions],
    ) -> list[Appointment]:
        payload = ListAppointmentsPayload(location_id=location_id, range=date_range)
        return list((await self._call(practice_id, payload, AppointmentList, **options)).appointments)

    async def create_appointment(
        self, practice_id: str, data: AppointmentCreateData, **options: Unpack[CallOptions]
    ) -> Appointment:
        payload = CreateAppointmentPayload(appointment=data)
        return await self._call(practice_id, payload, Appointment, **options)

    async def update_appointment(
        self,
        practice_id: str,
        appointment_id: str,
        updates: AppointmentUpdateData,
        **options: Unpack[CallOptions],
    ) -> Appointment:
        payload = UpdateAppointmentPayload(appointment_id=appointment_id, updates=updates)
        return await self._call(practice_id, payload, Appointment, **options)

    async def list_locations(self, practice_id: str, **options: Unpack[CallOptions]) -> list[Location]:
        answer = await self._call(practice_id, ListLocationsPayload(), LocationList, **options)
        return list(answer.locations)

    async def list_operatories(
        self, practice_id: str, location_id: str | None = None, **options: Unpack[CallOptions]
    ) -> list[Operatory]:
        payload = ListOperatoriesPayload(location_id=location_id)
        return list((await self._call(practice_id, payload, OperatoryList, **options)).operatories)

    async def validate_connection(self, practice_id: str, **options: Unpack[CallOptions]) -> ConnectionStatus:
        return await self._call(practice_id, ValidateConnectionPayload(), ConnectionStatus, **options)

    # -- monitoring --------------------------------------------------------------------------------------------

    async def answers(self, buffer: int = 10_000) -> AsyncIterator[Answer]:
        """Every answer decoded from now on, anyone's. A watcher that falls ``buffer`` behind loses answers."""
        queue: asyncio.Queue[Answer] = asyncio.Queue(maxsize=buffer)
        self._watchers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._watchers.discard(queue)

    # -- threads -----------------------------------------------------------------------------------------------

    def _check_topic(self, topic: str) -> None:
        try:
            metadata = list_topics(self._consumer, self._access, topic, timeout=self.timeout)
        except KafkaAccessError as exc:
            raise RelayUnavailable(f"cannot reach the cluster: {exc}") from exc
        found = metadata.topics.get(topic)
        if found is None or found.error is not None or not found.partitions:
            raise RelayUnavailable(f"topic {topic} does not exist (create it: pms-relay topics create)")

    def _end_offsets(self, topics: tuple[str, ...]) -> list[TopicPartition]:
        # Explicit end offsets rather than auto.offset.reset=latest: "latest" is resolved lazily after
        # assignment, and an answer written before that lookup would be skipped.
        assignment = []
        for topic in topics:
            self._check_topic(topic)
            metadata = self._consumer.list_topics(topic, timeout=self.timeout).topics[topic]
            for partition in sorted(metadata.partitions):
                assignment.append(TopicPartition(topic, partition, self._end_offset(topic, partition)))
        return assignment

    def _end_offset(self, topic: str, partition: int) -> int:
        # A partition may have no leader for a moment (a new topic, a broker restart): retry what is retriable.
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                remaining = max(deadline - time.monotonic(), 0.1)
                _low, high = self._consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=remaining, cached=False
                )
                return int(high)
            except KafkaException as exc:
                error = exc.args[0]
                transient = error.retriable() or error.code() in _LEADERLESS
                if not (transient and time.monotonic() < deadline):
                    raise RelayUnavailable(
                        f"cannot read the end of {topic}[{partition}]: {error.name()}"
                    ) from exc
            time.sleep(0.1)

    def _serve_deliveries(self) -> None:
        while not self._stopping.is_set():
            self._producer.poll(0.1)

    def _read_answers(self) -> None:
        try:
            while not self._stopping.is_set():
                # poll() returns on the first message; consume(n, timeout) would wait for n or the timeout.
                first = self._consumer.poll(0.1)
                if first is None:
                    continue
                for message in [first, *self._consumer.consume(num_messages=499, timeout=0)]:
                    self._on_message(message)
        finally:
            self._consumer.close()

    def _on_message(self, message: Message) -> None:
        error = message.error()
        if error is not None:
            _log.warning("answer read failed code=%s", error.name())
            return
        # A consumed message's headers are always a list of (name, bytes) pairs.
        headers = cast(list[tuple[str, bytes | None]], message.headers() or [])
        correlation = _as_uuid(ce.header(headers, "ce_correlationid"))
        if correlation is not None and not self._watchers and not self._matcher.wants(correlation):
            return  # someone else's answer, or a duplicate: not worth decoding
        try:
            answer: Answer = (
                self._codec.decode_result(message.value(), headers, message.key())
                if message.topic() == self.topics.results
                else self._codec.decode_error(message.value(), headers, message.key())
            )
        except DecodeError as exc:
            self._undecodable(message, exc, correlation)
            return
        self._to_loop(self._deliver, answer, correlation)

    def _undecodable(self, message: Message, exc: DecodeError, correlation: uuid.UUID | None) -> None:
        _log.warning(
            "undecodable answer topic=%s partition=%s offset=%s command_id=%s reason=%s",
            message.topic(),
            message.partition(),
            message.offset(),
            exc.command_id or correlation,
            exc.reason,
        )
        command_id = exc.command_id or correlation
        if command_id is not None:
            failure = CommandFailed(
                ErrorCode.INTERNAL, f"undecodable answer: {exc.reason}", command_id=command_id
            )
            self._to_loop(self._matcher.fail, command_id, failure)

    def _to_loop(self, callback: Callable[..., Any], *args: Any) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop closed while we read
            self._loop.call_soon_threadsafe(callback, *args)

    # -- on the loop -------------------------------------------------------------------------------------------

    def _deliver(self, answer: Answer, correlation: uuid.UUID | None) -> None:
        outcome = self._matcher.deliver(answer, correlation)
        if outcome in (Delivery.DUPLICATE, Delivery.LATE):
            _log.info("answer ignored command_id=%s delivery=%s", answer.command_id or correlation, outcome)
        for queue in self._watchers:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(answer)


def _as_uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None
