"""The per-command pipeline: one message in, exactly one step towards its terminal outcome out.

::

    decode ─ bad ──────────────────────────────────────────────► error VALIDATION + dead letter (raw bytes)
      │
    practice known? ─ no ──────────────────────────────────────► error UNKNOWN_PRACTICE
    inbox: DONE ───────────────────────────────────────────────► the stored answer again, no PMS call
           older copy of a command already forwarded ──────────► dropped (its newer copy is in a retry tier)
    past expires_at (or max_age after first seen) ─────────────► error DEADLINE_EXCEEDED, no PMS call
    subject busy (an earlier command for it is in retry) ──────► follows it into its tier (no attempt burnt)
    circuit open / practice parked after a 429 ────────────────► retry tier (no attempt burnt)
    deferred (the practice's backlog in this worker is full) ──► retry tier (no attempt burnt)
    inbox: IN_FLIGHT write ── find_by_reference ── found ──────► result
                                               └─ not found ──► wait out the stale-read grace, then write
    IN_FLIGHT made durable (writes) ─ adapter call ─ ok ───────► result, inbox DONE
                                                   └─ error ──► error | retry tier | dead letter + error

Everything here is independent of Faust: tables are mappings, sending is :class:`Outbox`. The Faust
wiring lives in ``topology.py``. Nothing raises out of :meth:`Processor.handle`.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from opentelemetry.trace import Status, StatusCode
from pydantic import BaseModel

from adapters.contract import PMSInterface
from adapters.deadline import deadline_scope
from adapters.errors import ErrorCode, PMSError, RateLimited
from streams.answers import answer_event_id, undecodable_event_id
from streams.circuit import CircuitBoard, CircuitOpen
from streams.codec import Codec, DecodeError, EncodedMessage
from streams.dispatch import dispatch, is_write, reconciled_payload
from streams.envelopes import CommandEnvelope, ErrorEnvelope, ResultEnvelope
from streams.hops import Hop, Origin, read_hop, write_hop
from streams.inbox import InboxEntry, Phase, StoredAnswer
from streams.logs import log_context
from streams.ordering import head_overdue, subject_of
from streams.redrive import redrive_id
from streams.registry import Practice, Registry
from streams.retry import Answer, DeadLetter, Failure, FailureKind, Retry, RetryTiers, decide
from streams.tracing import consumer_span, inject, producer_span

__all__ = ["Incoming", "Outbox", "Processor", "ProcessorSettings", "Routes"]

_log = logging.getLogger(__name__)


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
class Routes:
    """Topic names the processor sends to."""

    results: str
    errors: str
    retries: tuple[str, ...]  # one per tier, shortest delay first
    dead_letters: str


@dataclass(frozen=True)
class ProcessorSettings:
    routes: Routes
    tiers: RetryTiers = field(default_factory=RetryTiers)
    # A write found IN_FLIGHT but not (yet) in the PMS may be hidden by a stale read: wait this long after
    # the attempt began before concluding it was never applied and writing again.
    reconcile_grace_seconds: float = 30.0
    # Time allowed for one PMS call when the command itself sets no deadline.
    call_budget_seconds: float = 30.0
    consumer_group: str = "pms-relay"
    # A command that sets no ``expires_at`` is given up this long after it was first seen (answered
    # DEADLINE_EXCEEDED): nothing cycles through the retry tiers for ever, whatever keeps it waiting.
    max_age_seconds: float = 3600.0


class Outbox(Protocol):
    async def send(self, topic: str, message: EncodedMessage, partition: int | None = None) -> None:
        """Return once the broker has the message (in ``partition``, or the key's partition when None)."""

    async def durable(self) -> None:
        """Return once every table write made so far is on the broker."""


class Processor:
    def __init__(
        self,
        *,
        settings: ProcessorSettings,
        registry: Registry,
        adapter_for: Callable[[Practice], PMSInterface],
        codec: Codec,
        inbox: MutableMapping[str, Any],
        subjects: MutableMapping[str, Any],
        circuits: CircuitBoard,
        outbox: Outbox,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._adapter_for = adapter_for
        self._codec = codec
        self._inbox = inbox
        self._subjects = subjects
        self._circuits = circuits
        self._outbox = outbox
        self._clock = clock

    # -- entry point ---------------------------------------------------------------------------------------

    def decode(self, message: Incoming) -> CommandEnvelope | DecodeError:
        try:
            return self._codec.decode_command(message.value, message.headers, message.key)
        except DecodeError as exc:
            return exc

    async def handle(
        self, message: Incoming, decoded: CommandEnvelope | DecodeError, *, defer: bool = False
    ) -> None:
        """Take ``message`` one step towards its terminal outcome. Never raises (but for cancellation).

        ``defer``: the practice has no room in this worker now; everything but the PMS call is decided as
        usual, and a command that would call the PMS goes to the shortest retry tier instead.
        """
        attributes: dict[str, Any] = {
            "messaging.consumer.group.name": self._settings.consumer_group,
            "messaging.destination.partition.id": str(message.partition),
            "messaging.kafka.offset": message.offset,
        }
        if isinstance(decoded, CommandEnvelope):
            attributes |= {
                "messaging.message.id": str(decoded.command_id),
                "messaging.kafka.message.key": decoded.practice_id,
                "pms.command_type": decoded.command_type.value,
                "pms.practice_id": decoded.practice_id,
            }
        command = decoded if isinstance(decoded, CommandEnvelope) else None
        with (
            log_context(
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                command_id=command.command_id if command is not None else None,
                practice_id=command.practice_id if command is not None else None,
            ),
            consumer_span(message.topic, message.headers, attributes) as span,
        ):
            try:
                if isinstance(decoded, DecodeError):
                    await self._undecodable(message, decoded)
                else:
                    outcome = await self._process(message, decoded, defer=defer)
                    span.set_attribute("pms.outcome", outcome)
            except Exception as exc:  # the last line of defence: Faust may skip an offset that raised
                # The exception's text may quote input (pydantic does): log and trace its type and frames only.
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                span.add_event("exception", {"exception.type": type(exc).__name__})
                _log.error(
                    "internal error topic=%s partition=%s offset=%s exception=%s\n%s",
                    message.topic,
                    message.partition,
                    message.offset,
                    type(exc).__name__,
                    "".join(traceback.format_tb(exc.__traceback__)),
                )
                await self._internal(message, decoded, exc)

    # -- the pipeline --------------------------------------------------------------------------------------

    async def _process(self, message: Incoming, command: CommandEnvelope, *, defer: bool = False) -> str:
        command_id = str(command.command_id)
        practice = self._registry.get(command.practice_id)
        if practice is None:
            await self._answer_error(
                message, command, None, ErrorCode.UNKNOWN_PRACTICE, "unknown practice", 0
            )
            return "unknown_practice"
        hop = read_hop(message.headers)
        this_hop = hop.hop if hop is not None else 0
        entry = self._entry(command_id)
        redrive = redrive_id(message.headers)
        if entry is not None and redrive is not None and entry.redrive != redrive:
            entry = self._reopen(command, entry, redrive, message.partition)
        if entry is not None and entry.phase is Phase.DONE and entry.answer is not None:
            await self._replay(entry.answer, message)
            self._release_subject(command)  # in case a crash kept the subject held past the answer
            return "replayed"
        if entry is not None and entry.hop > this_hop:
            _log.info("stale copy dropped command_id=%s hop=%s live_hop=%s", command_id, this_hop, entry.hop)
            return "stale_copy"
        attempts = entry.attempts if entry is not None else (hop.attempts if hop is not None else 0)
        now = self._clock()
        write = is_write(command.command_type)
        # A write whose outcome is unknown is settled against the PMS before anything else is decided:
        # answering it DEADLINE_EXCEEDED while it was in fact applied would invite the platform to repeat it.
        unresolved = entry is not None and entry.phase is Phase.IN_FLIGHT and write
        deadline = self._deadline(command, hop)
        expired = deadline.timestamp() <= now
        if expired and not unresolved:
            await self._terminal_error(message, command, practice, ErrorCode.DEADLINE_EXCEEDED, attempts)
            return "deadline_exceeded"
        subject = subject_of(command)
        head = self._subject_head(command.practice_id, subject)
        if head is not None and head["command_id"] != command_id:
            await self._follow(message, command, practice, attempts, head)
            return "following"
        rejection = self._circuits.rejection(command.practice_id, practice.pms, practice.circuit)
        if rejection is None and defer:
            # The shortest tier: a deferred command comes back soon and takes a slot as soon as one is free;
            # measured, waiting longer only starved the practice (deploy/bench/backlog.py).
            rejection = Failure(ErrorCode.UNAVAILABLE, True, kind=FailureKind.DEFERRED)
        if rejection is not None:
            await self._fail(message, command, practice, rejection, attempts, entry)
            if defer:
                return "deferred"
            return "circuit_rejected" if rejection.kind is FailureKind.CIRCUIT_OPEN else "parked"
        adapter = self._adapter_for(practice)
        if unresolved and entry is not None:
            try:
                found = await self._reconcile(adapter, command)
            except PMSError as exc:
                failure = Failure(exc.code, exc.retryable, retry_after=exc.retry_after)
                await self._fail(
                    message, command, practice, failure, attempts, entry, error=exc, unknown=True
                )
                return "reconcile_failed"
            if found is not None:
                await self._succeed(message, command, practice, found, attempts)
                return "reconciled"
            if expired:
                await self._terminal_error(message, command, practice, ErrorCode.DEADLINE_EXCEEDED, attempts)
                return "deadline_exceeded"
            if now - entry.since < self._settings.reconcile_grace_seconds:
                failure = Failure(ErrorCode.UNAVAILABLE, True, kind=FailureKind.PARKED)
                await self._fail(message, command, practice, failure, attempts, entry, unknown=True)
                return "reconcile_wait"
        attempts += 1
        if write:
            self._put(command_id, InboxEntry(Phase.IN_FLIGHT, this_hop, attempts, now, message.partition))
            await self._outbox.durable()
        try:
            with deadline_scope(command.expires_at, seconds=self._settings.call_budget_seconds):
                payload = await self._circuits.call(
                    command.practice_id, practice.pms, practice.circuit, lambda: dispatch(adapter, command)
                )
        except CircuitOpen:
            failure = self._circuits.rejection(
                command.practice_id, practice.pms, practice.circuit
            ) or Failure(ErrorCode.CIRCUIT_OPEN, True, retry_after=practice.circuit.reset_timeout_seconds)
            await self._fail(message, command, practice, failure, attempts - 1, entry)
            return "circuit_rejected"
        except PMSError as exc:
            if isinstance(exc, RateLimited) and exc.retry_after:
                self._circuits.park(command.practice_id, practice.pms, exc.retry_after)
            failure = Failure(exc.code, exc.retryable, retry_after=exc.retry_after)
            unknown = write and exc.outcome_unknown
            # The grace for an unknown outcome runs from when the attempt began; a known failure left nothing.
            began = (
                InboxEntry(Phase.IN_FLIGHT, this_hop, attempts, now, message.partition) if unknown else None
            )
            await self._fail(message, command, practice, failure, attempts, began, error=exc, unknown=unknown)
            return "failed"
        await self._succeed(message, command, practice, payload, attempts)
        return "succeeded"

    def _deadline(self, command: CommandEnvelope, hop: Hop | None) -> datetime:
        """``expires_at``, or ``max_age`` after the command was first seen when it sets none (or a later one)."""
        first_seen = hop.first_seen if hop is not None else datetime.fromtimestamp(self._clock(), UTC)
        limit = first_seen + timedelta(seconds=self._settings.max_age_seconds)
        if command.expires_at is None:
            return limit
        return min(command.expires_at, limit)

    def _answer_id(self, command: CommandEnvelope, message: Incoming) -> str:
        """The ce_id of the command's answer: the same for every answer a command can get (per redrive), so a
        command answered twice (a crash between the answer and its commit) is a duplicate any consumer drops."""
        redrive = redrive_id(message.headers)
        if redrive is None:
            stored = self._inbox.get(str(command.command_id))
            redrive = stored.get("redrive") if stored else None
        return answer_event_id(str(command.command_id), redrive)

    async def _reconcile(self, adapter: PMSInterface, command: CommandEnvelope) -> BaseModel | None:
        with deadline_scope(command.expires_at, seconds=self._settings.call_budget_seconds):
            found = await adapter.find_by_reference(str(command.command_id))
        _log.info("reconciled command_id=%s found=%s", command.command_id, found is not None)
        return reconciled_payload(command, found)

    # -- outcomes ------------------------------------------------------------------------------------------

    async def _succeed(
        self,
        message: Incoming,
        command: CommandEnvelope,
        practice: Practice,
        payload: BaseModel,
        attempts: int,
    ) -> None:
        hop = read_hop(message.headers)
        started = hop.first_seen if hop is not None else None
        now = datetime.fromtimestamp(self._clock(), UTC)
        result = ResultEnvelope.model_validate(
            {
                "command_id": command.command_id,
                "command_type": command.command_type,
                "practice_id": command.practice_id,
                "pms": practice.pms,
                "completed_at": now,
                "attempts": max(attempts, 1),
                "duration_ms": max(0, int(((now - (started or now)).total_seconds()) * 1000)),
                "payload": payload,
            }
        )
        encoded = self._codec.encode_result(
            result,
            passthrough_headers=inject(_own_headers(message)),
            event_id=self._answer_id(command, message),
        )
        await self._send(self._settings.routes.results, encoded, command)
        # No flush here: the answer is on the broker, and a DONE entry lost in a crash only means a repeat of
        # the command finds IN_FLIGHT and reconciles. Flushes are kept for what must precede an action.
        self._finish(command, message, _stored("result", encoded), attempts)

    async def _terminal_error(
        self,
        message: Incoming,
        command: CommandEnvelope,
        practice: Practice | None,
        code: ErrorCode,
        attempts: int,
        *,
        error: PMSError | None = None,
    ) -> None:
        text = error.message if error is not None else _MESSAGES.get(code, code.value.lower())
        await self._answer_error(message, command, practice, code, text, attempts, error=error)

    async def _answer_error(
        self,
        message: Incoming,
        command: CommandEnvelope,
        practice: Practice | None,
        code: ErrorCode,
        text: str,
        attempts: int,
        *,
        error: PMSError | None = None,
    ) -> None:
        envelope = ErrorEnvelope(
            command_id=command.command_id,
            command_type=command.command_type,
            practice_id=command.practice_id,
            code=code,
            retryable=error.retryable if error is not None else False,
            message=text,
            pms=practice.pms if practice is not None else None,
            attempts=attempts,
            http_status=error.http_status if error is not None else None,
            failed_at=datetime.fromtimestamp(self._clock(), UTC),
        )
        encoded = self._codec.encode_error(
            envelope,
            passthrough_headers=inject(_own_headers(message)),
            event_id=self._answer_id(command, message),
        )
        await self._send(self._settings.routes.errors, encoded, command)
        if practice is not None:
            self._finish(command, message, _stored("error", encoded), attempts)

    async def _fail(
        self,
        message: Incoming,
        command: CommandEnvelope,
        practice: Practice,
        failure: Failure,
        attempts: int,
        entry: InboxEntry | None,
        *,
        error: PMSError | None = None,
        unknown: bool = False,
    ) -> None:
        now = self._clock()
        decision = decide(
            failure,
            attempts=attempts,
            now=datetime.fromtimestamp(now, UTC),
            expires_at=self._deadline(command, read_hop(message.headers)),
            tiers=self._settings.tiers,
        )
        match decision:
            case Answer(code=code):
                if unknown and code is ErrorCode.DEADLINE_EXCEEDED:
                    found = await self._last_look(command, practice)
                    if found is not None:
                        await self._succeed(message, command, practice, found, attempts)
                        return
                await self._terminal_error(message, command, practice, code, attempts, error=error)
            case DeadLetter(code=code):
                await self._dead_letter(message, command, code, attempts, error)
                await self._terminal_error(message, command, practice, code, attempts, error=error)
            case Retry() as retry:
                # Unknown outcomes stay IN_FLIGHT (the next copy reconciles first), timed from the attempt.
                in_flight = unknown or (entry is not None and entry.phase is Phase.IN_FLIGHT)
                phase = Phase.IN_FLIGHT if in_flight else Phase.SCHEDULED
                since = entry.since if in_flight and entry is not None else now
                await self._forward(message, command, retry, failure, error, phase, since)

    async def _last_look(self, command: CommandEnvelope, practice: Practice) -> BaseModel | None:
        """One reconcile before answering an unknown write DEADLINE_EXCEEDED; failures just mean 'not seen'."""
        try:
            return await self._reconcile(self._adapter_for(practice), command)
        except PMSError:
            return None

    async def _follow(
        self,
        message: Incoming,
        command: CommandEnvelope,
        practice: Practice,
        attempts: int,
        head: dict[str, Any],
    ) -> None:
        """Send ``command`` behind the earlier command for its subject, into the tier that command waits in."""
        tier = int(head["tier"])
        wait = self._settings.tiers.delays[tier]
        due_at = datetime.fromtimestamp(self._clock() + wait, UTC)
        if due_at >= self._deadline(command, read_hop(message.headers)):
            await self._terminal_error(message, command, practice, ErrorCode.DEADLINE_EXCEEDED, attempts)
            return
        retry = Retry(tier=tier, due_at=due_at, attempts=attempts)
        failure = Failure(ErrorCode.CONFLICT, True, kind=FailureKind.PARKED)
        await self._forward(
            message, command, retry, failure, None, Phase.SCHEDULED, self._clock(), follower=True
        )

    async def _forward(
        self,
        message: Incoming,
        command: CommandEnvelope,
        retry: Retry,
        failure: Failure,
        error: PMSError | None,
        phase: Phase,
        since: float,
        *,
        follower: bool = False,
    ) -> None:
        command_id = str(command.command_id)
        previous = read_hop(message.headers)
        next_hop = Hop(
            hop=(previous.hop if previous is not None else 0) + 1,
            attempts=retry.attempts,
            first_seen=previous.first_seen
            if previous is not None
            else datetime.fromtimestamp(self._clock(), UTC),
            origin=previous.origin
            if previous is not None
            else Origin(message.topic, message.partition, message.offset),
            due_at=retry.due_at,
            error_code=failure.code.value,
            error_class=type(error).__name__ if error is not None else failure.kind.value,
            error_message=error.message if error is not None else _MESSAGES.get(failure.code),
        )
        topic = self._settings.routes.retries[retry.tier]
        headers = inject(write_hop(message.headers, next_hop))
        # Send first, then move the inbox: a crash in between leaves two live copies, and the inbox turns the
        # second into a replay; the other order could leave none.
        copy = EncodedMessage(message.key, message.value or b"", headers)
        # Tiers have the source's partition count: the copy stays in the partition its tables live in.
        await self._send(topic, copy, command, partition=message.partition)
        self._put(command_id, InboxEntry(phase, next_hop.hop, retry.attempts, since, message.partition))
        subject = subject_of(command)
        if subject is not None:
            self._hold_subject(command.practice_id, subject, command_id, retry.tier, follower=follower)
        await self._outbox.durable()
        _log.info(
            "retry scheduled command_id=%s tier=%s attempts=%s code=%s",
            command_id,
            retry.tier,
            retry.attempts,
            failure.code.value,
        )

    async def _dead_letter(
        self,
        message: Incoming,
        command: CommandEnvelope | None,
        code: ErrorCode,
        attempts: int,
        error: BaseException | None,
    ) -> None:
        previous = read_hop(message.headers)
        hop = Hop(
            hop=(previous.hop if previous is not None else 0) + 1,
            attempts=attempts,
            first_seen=previous.first_seen
            if previous is not None
            else datetime.fromtimestamp(self._clock(), UTC),
            origin=previous.origin
            if previous is not None
            else Origin(message.topic, message.partition, message.offset),
            error_code=code.value,
            error_class=type(error).__name__ if error is not None else None,
            error_message=error.message if isinstance(error, PMSError) else _MESSAGES.get(code),
        )
        headers = inject(write_hop(message.headers, hop))
        await self._send(
            self._settings.routes.dead_letters,
            EncodedMessage(message.key, message.value or b"", headers),
            command,
        )

    async def _undecodable(self, message: Incoming, exc: DecodeError) -> None:
        await self._dead_letter(message, None, ErrorCode.VALIDATION, 0, exc)
        envelope = ErrorEnvelope(
            command_id=exc.command_id,
            command_type=exc.command_type,
            practice_id=exc.practice_id,
            code=ErrorCode.VALIDATION,
            retryable=False,
            message=exc.message,
            failed_at=datetime.fromtimestamp(self._clock(), UTC),
        )
        event_id = undecodable_event_id(message.topic, message.partition, message.offset)
        encoded = self._codec.encode_error(envelope, passthrough_headers=inject([]), event_id=event_id)
        await self._send(self._settings.routes.errors, encoded, None)
        _log.info(
            "undecodable message topic=%s partition=%s offset=%s",
            message.topic,
            message.partition,
            message.offset,
        )

    async def _internal(
        self, message: Incoming, decoded: CommandEnvelope | DecodeError, exc: Exception
    ) -> None:
        """A bug, not a PMS failure: dead-letter the message (for redrive after a fix) and answer INTERNAL."""
        try:
            command = decoded if isinstance(decoded, CommandEnvelope) else None
            await self._dead_letter(message, command, ErrorCode.INTERNAL, 0, exc)
            envelope = ErrorEnvelope(
                command_id=command.command_id if command is not None else None,
                command_type=command.command_type if command is not None else None,
                practice_id=command.practice_id if command is not None else None,
                code=ErrorCode.INTERNAL,
                retryable=False,
                message=f"internal error ({type(exc).__name__}); the command was dead-lettered",
                failed_at=datetime.fromtimestamp(self._clock(), UTC),
            )
            event_id = (
                self._answer_id(command, message)
                if command is not None
                else undecodable_event_id(message.topic, message.partition, message.offset)
            )
            encoded = self._codec.encode_error(envelope, event_id=event_id)
            await self._send(self._settings.routes.errors, encoded, command)
            if command is not None:
                # Stored as the answer: a repeat of the command is answered the same, never written again.
                self._finish(command, message, _stored("error", encoded), 0)
                await self._outbox.durable()
        except Exception as again:
            _log.error(
                "could not answer an internal error offset=%s exception=%s",
                message.offset,
                type(again).__name__,
            )

    async def _replay(self, answer: StoredAnswer, message: Incoming) -> None:
        """The stored answer again, as the same event (same ce_id): consumers can drop it as a duplicate."""
        topic = self._settings.routes.results if answer.kind == "result" else self._settings.routes.errors
        headers = inject([*answer.headers, *_own_headers(message)])
        await self._send(topic, EncodedMessage(answer.key, answer.value, headers), None)

    async def _send(
        self,
        topic: str,
        encoded: EncodedMessage,
        command: CommandEnvelope | None,
        *,
        partition: int | None = None,
    ) -> None:
        attributes = {} if command is None else {"messaging.message.id": str(command.command_id)}
        with producer_span(topic, attributes):
            message = EncodedMessage(encoded.key, encoded.value, inject(encoded.headers))
            await self._outbox.send(topic, message, partition)

    def _reopen(
        self, command: CommandEnvelope, entry: InboxEntry, redrive: str, partition: int
    ) -> InboxEntry | None:
        """The inbox entry a redriven command starts from: answered errors are reopened, results stand.

        A reopened write is IN_FLIGHT with its grace long over, so it is reconciled before it is written: it
        may have been applied before it was dead-lettered. Attempts start again.
        """
        if entry.phase is Phase.DONE and entry.answer is not None and entry.answer.kind == "result":
            return entry
        _log.info("redrive command_id=%s redrive=%s", command.command_id, redrive)
        phase = Phase.IN_FLIGHT if is_write(command.command_type) else Phase.SCHEDULED
        reopened = InboxEntry(phase, 0, 0, 0.0, partition, redrive=redrive)
        self._put(str(command.command_id), reopened)
        return reopened

    # -- tables --------------------------------------------------------------------------------------------

    def _entry(self, command_id: str) -> InboxEntry | None:
        raw = self._inbox.get(command_id)
        return None if raw is None else InboxEntry.from_json(raw)

    def _put(self, command_id: str, entry: InboxEntry) -> None:
        if entry.redrive is None:  # a redriven command keeps its redrive id to the end, so a repeat replays
            previous = self._inbox.get(command_id)
            if previous and previous.get("redrive"):
                entry = entry.moved(redrive=previous["redrive"])
        self._inbox[command_id] = entry.to_json()

    def _finish(
        self, command: CommandEnvelope, message: Incoming, answer: StoredAnswer, attempts: int
    ) -> None:
        command_id = str(command.command_id)
        # A read answered at its first try leaves no trace: running it again is harmless, and skipping the
        # table write (with a copy of the answer, patient lists included) is most of a read's cost.
        if is_write(command.command_type) or command_id in self._inbox:
            hop = read_hop(message.headers)
            entry = InboxEntry(
                Phase.DONE, hop.hop if hop else 0, attempts, self._clock(), message.partition, answer
            )
            self._put(command_id, entry)
        self._release_subject(command)

    def _subject_head(self, practice_id: str, subject: str | None) -> dict[str, Any] | None:
        """The command that ``subject``'s later commands wait behind; a head not seen for longer than its
        tier allows (:func:`head_overdue`) is released, so its followers are never held for ever."""
        if subject is None:
            return None
        key = f"{practice_id}|{subject}"
        queue = self._subjects.get(key)
        if not queue:
            return None
        head = dict(queue[0])
        if not head_overdue(head, now=self._clock(), delays=self._settings.tiers.delays):
            return head
        _log.warning(
            "subject head released practice_id=%s command_id=%s tier=%s reason=overdue",
            practice_id,
            head["command_id"],
            head.get("tier"),
        )
        remaining = [dict(item) for item in queue[1:]]
        if remaining:
            self._subjects[key] = remaining
        else:
            del self._subjects[key]
        return self._subject_head(practice_id, subject)

    def _hold_subject(
        self, practice_id: str, subject: str, command_id: str, tier: int, *, follower: bool
    ) -> None:
        key = f"{practice_id}|{subject}"
        queue = [dict(item) for item in self._subjects.get(key) or []]
        now = self._clock()
        for item in queue:
            if item["command_id"] == command_id:
                item["tier"] = tier
                item["at"] = now
                break
        else:
            queue.append({"command_id": command_id, "tier": tier, "at": now})
        self._subjects[key] = queue

    def _release_subject(self, command: CommandEnvelope) -> None:
        subject = subject_of(command)
        if subject is None:
            return
        key = f"{command.practice_id}|{subject}"
        queue = self._subjects.get(key)
        if not queue:
            return
        remaining = [item for item in queue if item["command_id"] != str(command.command_id)]
        if len(remaining) == len(queue):
            return
        if remaining:
            self._subjects[key] = remaining
        else:
            del self._subjects[key]


_MESSAGES = {
    ErrorCode.DEADLINE_EXCEEDED: "the command's deadline passed before it could be completed",
    ErrorCode.CIRCUIT_OPEN: "the practice's circuit is open",
    ErrorCode.RATE_LIMITED: "the practice is rate limited",
    ErrorCode.UNKNOWN_PRACTICE: "unknown practice",
}


def _stored(kind: str, encoded: EncodedMessage) -> StoredAnswer:
    event_headers = tuple((k, v) for k, v in encoded.headers if k not in ("traceparent", "tracestate"))
    return StoredAnswer(kind, encoded.key, encoded.value, event_headers)


def _own_headers(message: Incoming) -> list[tuple[str, bytes]]:
    """Headers of the incoming message worth carrying to its answer: the trace context."""
    return [(k, v) for k, v in message.headers if k in ("traceparent", "tracestate") and v is not None]
