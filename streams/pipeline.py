"""The per-command pipeline: one message in, exactly one step towards its terminal outcome out.

A message is read once (:mod:`streams.received`), then goes through short steps in this order; the first
step that settles it returns its :class:`~streams.outcome.Outcome`::

    undecodable ───────────────────────────────────────────────► error VALIDATION + dead letter (raw bytes)
    practice unknown ──────────────────────────────────────────► error UNKNOWN_PRACTICE
    answered before (inbox DONE) ──────────────────────────────► the stored answer again, no PMS call
    an older copy of a command already forwarded ──────────────► dropped (its newer copy is in a retry tier)
    past expires_at (or max_age after first seen) ─────────────► error DEADLINE_EXCEEDED, no PMS call
    an earlier command of its subject waits in a retry tier ───► follows it into its tier (no attempt burnt)
    circuit open / parked after a 429 / practice backlog full ─► retry tier (no attempt burnt)
    an IN_FLIGHT write ── find_by_reference ── found ──────────► result
                                            └─ not found ──────► wait out the stale-read grace, then write
    the PMS call (IN_FLIGHT made durable first for writes) ────► result | error | retry tier | dead letter

Everything here is independent of Faust: tables are mappings, sending is :class:`~streams.outbound.Outbox`,
and everything worth observing goes to the :class:`~streams.observer.Observer`. Nothing raises out of
:meth:`Pipeline.handle` (but cancellation).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from adapters.contract import PMSInterface
from adapters.deadline import deadline_scope
from adapters.errors import ErrorCode, PMSError, RateLimited
from schemas.codec import Codec
from schemas.envelopes import CommandEnvelope
from streams.circuit import CircuitBoard, CircuitOpen
from streams.dispatch import dispatch, is_write, reconciled_payload
from streams.inbox import Inbox, InboxEntry, Phase, StoredAnswer
from streams.logs import log_context
from streams.observer import NO_OBSERVER, Observer
from streams.outbound import Outbound, Outbox, Routes, relay_message
from streams.outcome import Outcome
from streams.received import Received
from streams.registry import Practice, Registry
from streams.retry import DeadLetter, Failure, FailureKind, GiveUp, Retry, RetryTiers, decide
from streams.subjects import SubjectQueues

__all__ = ["RECONCILE_OPERATION", "Pipeline", "PipelineSettings"]

_log = logging.getLogger(__name__)

# The PMS operation of a reconcile look-up, as observers name it beside the command types.
RECONCILE_OPERATION = "FindByReference"


@dataclass(frozen=True)
class PipelineSettings:
    routes: Routes
    tiers: RetryTiers = field(default_factory=RetryTiers)
    # A write found IN_FLIGHT but not (yet) in the PMS may be hidden by a stale read: wait this long after
    # the attempt began before concluding it was never applied and writing again.
    reconcile_grace_seconds: float = 45.0
    # Time allowed for one PMS call when the command itself sets no deadline.
    call_budget_seconds: float = 30.0
    # A command that sets no ``expires_at`` is given up this long after it was first seen (answered
    # DEADLINE_EXCEEDED): nothing cycles through the retry tiers for ever, whatever keeps it waiting.
    max_age_seconds: float = 3600.0


@dataclass
class _Run:
    """One message's way through the steps: what is known about its command so far."""

    received: Received
    command: CommandEnvelope
    practice: Practice
    entry: InboxEntry | None
    now: float
    deadline: datetime
    defer: bool
    code: ErrorCode | None = None  # the error code of the outcome, where there is one

    @property
    def write(self) -> bool:
        return is_write(self.command.command_type)

    @property
    def unresolved(self) -> bool:
        """A write whose outcome is unknown: settle it against the PMS before anything else is decided."""
        return self.entry is not None and self.entry.phase is Phase.IN_FLIGHT and self.write

    @property
    def expired(self) -> bool:
        return self.deadline.timestamp() <= self.now

    @property
    def attempts(self) -> int:
        if self.entry is not None:
            return self.entry.attempts
        return self.received.hop.attempts if self.received.hop is not None else 0

    @property
    def redrive(self) -> str | None:
        return self.received.redrive or (self.entry.redrive if self.entry is not None else None)


Step = Callable[[_Run], Awaitable[Outcome | None]]


class Pipeline:
    def __init__(
        self,
        *,
        settings: PipelineSettings,
        registry: Registry,
        adapter_for: Callable[[Practice], PMSInterface],
        codec: Codec,
        inbox: MutableMapping[str, Any],
        subjects: MutableMapping[str, Any],
        circuits: CircuitBoard,
        outbox: Outbox,
        observer: Observer = NO_OBSERVER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._adapter_for = adapter_for
        self._inbox = Inbox(inbox)
        self._subjects = SubjectQueues(subjects, delays=settings.tiers.delays, clock=clock)
        self._circuits = circuits
        self._outbox = outbox
        self._observer = observer
        self._clock = clock
        self._send = Outbound(
            routes=settings.routes, codec=codec, outbox=outbox, observer=observer, clock=clock
        )
        self._steps: tuple[Step, ...] = (
            self._reopen_redriven,
            self._answered_before,
            self._stale_copy,
            self._past_deadline,
            self._in_subject_order,
            self._admitted,
            self._unknown_write_settled,
            self._call_pms,
        )

    # -- entry point ---------------------------------------------------------------------------------------

    async def handle(self, received: Received, *, defer: bool = False) -> Outcome:
        """Take ``received`` one step towards its terminal outcome. Never raises (but for cancellation).

        ``defer``: the practice has no room in this worker now; everything but the PMS call is decided as
        usual, and a command that would call the PMS goes to the shortest retry tier instead.
        """
        message = received.message
        with (
            log_context(
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                command_id=received.command_id or None,
                practice_id=received.practice_id or None,
            ),
            self._observer.handling(received),
        ):
            try:
                outcome, code = await self._take(received, defer)
            except Exception as exc:  # the last line of defence: Faust may skip an offset that raised
                outcome, code = await self._internal(received, exc), ErrorCode.INTERNAL
            self._observer.finished(received, outcome, code)
            return outcome

    async def _take(self, received: Received, defer: bool) -> tuple[Outcome, ErrorCode | None]:
        if received.command is None:
            await self._send.undecodable(received)
            _log.info("undecodable message")
            return Outcome.UNDECODABLE, ErrorCode.VALIDATION
        command = received.command
        practice = self._registry.get(command.practice_id)
        if practice is None:
            code = ErrorCode.UNKNOWN_PRACTICE
            await self._send.error(received, None, code, 0, received.redrive)
            return Outcome.UNKNOWN_PRACTICE, code
        run = _Run(
            received,
            command,
            practice,
            self._inbox.get(received.command_id),
            self._clock(),
            self._deadline(command, received),
            defer,
        )
        for step in self._steps:
            outcome = await step(run)
            if outcome is not None:
                return outcome, run.code
        raise AssertionError("the last step always settles the message")  # pragma: no cover

    # -- the steps -----------------------------------------------------------------------------------------

    async def _reopen_redriven(self, run: _Run) -> Outcome | None:
        """A redriven copy reopens a command answered with an error; a result stands.

        A reopened write is IN_FLIGHT with its grace long over, so it is reconciled before it is written: it
        may have been applied before it was dead-lettered. Attempts start again.
        """
        redrive, entry = run.received.redrive, run.entry
        if entry is None or redrive is None or entry.redrive == redrive:
            return None
        if entry.phase is Phase.DONE and entry.answer is not None and entry.answer.kind == "result":
            return None
        _log.info("redrive command_id=%s redrive=%s", run.received.command_id, redrive)
        phase = Phase.IN_FLIGHT if run.write else Phase.SCHEDULED
        run.entry = InboxEntry(phase, 0, 0, 0.0, run.received.message.partition, redrive=redrive)
        self._inbox.put(run.received.command_id, run.entry)
        return None

    async def _answered_before(self, run: _Run) -> Outcome | None:
        entry = run.entry
        if entry is None or entry.phase is not Phase.DONE or entry.answer is None:
            return None
        await self._send.replay(run.received, entry.answer)
        self._release_subject(run)  # in case a crash kept the subject held past the answer
        return Outcome.REPLAYED

    async def _stale_copy(self, run: _Run) -> Outcome | None:
        if run.entry is None or run.entry.hop <= run.received.hop_number:
            return None
        _log.info(
            "stale copy dropped command_id=%s hop=%s live_hop=%s",
            run.received.command_id,
            run.received.hop_number,
            run.entry.hop,
        )
        return Outcome.STALE_COPY

    async def _past_deadline(self, run: _Run) -> Outcome | None:
        # An unknown write is settled against the PMS first: answering it DEADLINE_EXCEEDED while it was in
        # fact applied would invite the platform to repeat it.
        if not run.expired or run.unresolved:
            return None
        await self._answer_error(run, ErrorCode.DEADLINE_EXCEEDED, run.attempts)
        return Outcome.DEADLINE_EXCEEDED

    async def _in_subject_order(self, run: _Run) -> Outcome | None:
        """Behind an earlier command of its subject that waits in a retry tier: follow it into that tier."""
        head = self._subjects.head(run.command.practice_id, run.received.subject)
        if head is None or head.command_id == run.received.command_id:
            return None
        due_at = datetime.fromtimestamp(run.now + self._settings.tiers.delays[head.tier], UTC)
        if due_at >= run.deadline:
            await self._answer_error(run, ErrorCode.DEADLINE_EXCEEDED, run.attempts)
            return Outcome.DEADLINE_EXCEEDED
        retry = Retry(tier=head.tier, due_at=due_at, attempts=run.attempts)
        failure = Failure(ErrorCode.CONFLICT, True, kind=FailureKind.PARKED)
        await self._forward(run, retry, failure, None, Phase.SCHEDULED, run.now)
        return Outcome.FOLLOWING

    async def _admitted(self, run: _Run) -> Outcome | None:
        """Rejected without a PMS call (and without burning an attempt): circuit open, parked, deferred."""
        practice = run.practice
        rejection = self._circuits.rejection(run.command.practice_id, practice.pms, practice.circuit)
        if rejection is None and run.defer:
            # The shortest tier: a deferred command comes back soon and takes a slot as soon as one is free;
            # measured, waiting longer only starved the practice (deploy/bench/backlog.py).
            rejection = Failure(ErrorCode.UNAVAILABLE, True, kind=FailureKind.DEFERRED)
        if rejection is None:
            return None
        outcome = await self._fail(run, rejection, run.attempts, run.entry)
        return _REJECTED[rejection.kind] if outcome is Outcome.RETRYING else outcome

    async def _unknown_write_settled(self, run: _Run) -> Outcome | None:
        """An IN_FLIGHT write: find it in the PMS by its reference before anything is written again."""
        entry = run.entry
        if not run.unresolved or entry is None:
            return None
        try:
            found = await self._reconcile(run)
        except PMSError as exc:
            failure = Failure(exc.code, exc.retryable, retry_after=exc.retry_after)
            outcome = await self._fail(run, failure, run.attempts, entry, error=exc, unknown=True)
            return Outcome.RECONCILE_FAILED if outcome is Outcome.RETRYING else outcome
        if found is not None:
            await self._succeed(run, found, run.attempts)
            return Outcome.RECONCILED
        if run.expired:
            await self._answer_error(run, ErrorCode.DEADLINE_EXCEEDED, run.attempts)
            return Outcome.DEADLINE_EXCEEDED
        if run.now - entry.since < self._settings.reconcile_grace_seconds:
            failure = Failure(ErrorCode.UNAVAILABLE, True, kind=FailureKind.PARKED)
            outcome = await self._fail(run, failure, run.attempts, entry, unknown=True)
            return Outcome.RECONCILE_WAIT if outcome is Outcome.RETRYING else outcome
        return None  # not applied, and the grace is over: write

    async def _call_pms(self, run: _Run) -> Outcome:
        command, practice = run.command, run.practice
        attempts = run.attempts + 1
        partition = run.received.message.partition
        began = InboxEntry(Phase.IN_FLIGHT, run.received.hop_number, attempts, run.now, partition)
        if run.write:
            await self._inbox.put_durably(run.received.command_id, began, self._outbox.durable)
        adapter = self._adapter_for(practice)
        operation = command.command_type.value
        started = time.perf_counter()
        try:
            with deadline_scope(command.expires_at, seconds=self._settings.call_budget_seconds):
                payload = await self._circuits.call(
                    command.practice_id, practice.pms, practice.circuit, lambda: dispatch(adapter, command)
                )
        except CircuitOpen:
            failure = self._circuits.rejection(
                command.practice_id, practice.pms, practice.circuit
            ) or Failure(ErrorCode.CIRCUIT_OPEN, True, retry_after=practice.circuit.reset_timeout_seconds)
            outcome = await self._fail(run, failure, attempts - 1, run.entry)
            return Outcome.CIRCUIT_REJECTED if outcome is Outcome.RETRYING else outcome
        except PMSError as exc:
            self._observer.pms_called(
                run.received, practice.pms, operation, time.perf_counter() - started, exc.code
            )
            if isinstance(exc, RateLimited) and exc.retry_after:
                self._circuits.park(command.practice_id, practice.pms, exc.retry_after)
            failure = Failure(exc.code, exc.retryable, retry_after=exc.retry_after)
            unknown = run.write and exc.outcome_unknown
            # The grace for an unknown outcome runs from when the attempt began; a known failure left nothing.
            return await self._fail(
                run, failure, attempts, began if unknown else None, error=exc, unknown=unknown
            )
        self._observer.pms_called(run.received, practice.pms, operation, time.perf_counter() - started, None)
        await self._succeed(run, payload, attempts)
        return Outcome.SUCCEEDED

    # -- failing -------------------------------------------------------------------------------------------

    async def _fail(
        self,
        run: _Run,
        failure: Failure,
        attempts: int,
        began: InboxEntry | None,
        *,
        error: PMSError | None = None,
        unknown: bool = False,
    ) -> Outcome:
        """Where a failed (or rejected) command goes: answered, dead-lettered, or a retry tier."""
        decision = decide(
            failure,
            attempts=attempts,
            now=datetime.fromtimestamp(run.now, UTC),
            expires_at=run.deadline,
            tiers=self._settings.tiers,
        )
        match decision:
            case GiveUp(code=code):
                if unknown and code is ErrorCode.DEADLINE_EXCEEDED:
                    found = await self._last_look(run)
                    if found is not None:
                        await self._succeed(run, found, attempts)
                        return Outcome.RECONCILED
                await self._answer_error(run, code, attempts, error=error)
                return (
                    Outcome.DEADLINE_EXCEEDED
                    if code is ErrorCode.DEADLINE_EXCEEDED
                    else Outcome.ANSWERED_ERROR
                )
            case DeadLetter(code=code):
                await self._send.dead_letter(run.received, code, attempts, error)
                await self._answer_error(run, code, attempts, error=error)
                return Outcome.DEAD_LETTERED
            case Retry() as retry:
                # Unknown outcomes stay IN_FLIGHT (the next copy reconciles first), timed from the attempt.
                in_flight = unknown or (began is not None and began.phase is Phase.IN_FLIGHT)
                phase = Phase.IN_FLIGHT if in_flight else Phase.SCHEDULED
                since = began.since if in_flight and began is not None else run.now
                await self._forward(run, retry, failure, error, phase, since)
                return Outcome.RETRYING

    async def _forward(
        self,
        run: _Run,
        retry: Retry,
        failure: Failure,
        error: PMSError | None,
        phase: Phase,
        since: float,
    ) -> None:
        """A copy into ``retry``'s tier; the inbox and the subject queue move with it."""
        received = run.received
        hop = received.next_hop(
            datetime.fromtimestamp(run.now, UTC),
            attempts=retry.attempts,
            code=failure.code,
            error_class=type(error).__name__ if error is not None else failure.kind.value,
            error_message=error.message if error is not None else relay_message(failure.code),
            due_at=retry.due_at,
        )
        # Send first, then move the inbox: a crash in between leaves two live copies, and the inbox turns the
        # second into a replay; the other order could leave none.
        await self._send.retry_copy(received, retry.tier, hop)
        partition = received.message.partition
        self._inbox.put(received.command_id, InboxEntry(phase, hop.hop, retry.attempts, since, partition))
        if received.subject is not None:
            self._subjects.hold(run.command.practice_id, received.subject, received.command_id, retry.tier)
        await self._outbox.durable()
        run.code = failure.code
        self._observer.retry_scheduled(received, retry.tier, failure.code)
        _log.info(
            "retry scheduled command_id=%s tier=%s attempts=%s code=%s",
            received.command_id,
            retry.tier,
            retry.attempts,
            failure.code.value,
        )

    # -- answering -----------------------------------------------------------------------------------------

    async def _succeed(self, run: _Run, payload: BaseModel, attempts: int) -> None:
        answer = await self._send.result(run.received, run.practice, payload, attempts, run.redrive)
        # No flush here: the answer is on the broker, and a DONE entry lost in a crash only means a repeat of
        # the command finds IN_FLIGHT and reconciles. Flushes are kept for what must precede an action.
        self._finish(run.received, answer, attempts)

    async def _answer_error(
        self, run: _Run, code: ErrorCode, attempts: int, *, error: PMSError | None = None
    ) -> None:
        run.code = code
        answer = await self._send.error(run.received, run.practice, code, attempts, run.redrive, error=error)
        self._finish(run.received, answer, attempts)

    def _finish(self, received: Received, answer: StoredAnswer, attempts: int) -> None:
        command_id = received.command_id
        # A read answered at its first try leaves no trace: running it again is harmless, and skipping the
        # table write (with a copy of the answer, patient lists included) is most of a read's cost.
        if received.command is not None and (
            is_write(received.command.command_type) or command_id in self._inbox
        ):
            entry = InboxEntry(
                Phase.DONE, received.hop_number, attempts, self._clock(), received.message.partition, answer
            )
            self._inbox.put(command_id, entry)
        if received.command is not None:
            self._subjects.release(received.command.practice_id, received.subject, command_id)

    def _release_subject(self, run: _Run) -> None:
        self._subjects.release(run.command.practice_id, run.received.subject, run.received.command_id)

    async def _internal(self, received: Received, exc: Exception) -> Outcome:
        """A bug, not a PMS failure: dead-letter the message (for redrive after a fix) and answer INTERNAL."""
        # The exception's text may quote input (pydantic does): log and trace its type and frames only.
        self._observer.crashed(received, type(exc).__name__)
        _log.error(
            "internal error exception=%s\n%s",
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        try:
            redrive = received.redrive or self._inbox.redrive_of(received.command_id)
            answer = await self._send.internal(received, exc, redrive)
            if answer is not None:
                # Stored as the answer: a repeat of the command is answered the same, never written again.
                self._finish(received, answer, 0)
                await self._outbox.durable()
        except Exception as again:
            _log.error("could not answer an internal error exception=%s", type(again).__name__)
        return Outcome.INTERNAL

    # -- reconciling ---------------------------------------------------------------------------------------

    async def _reconcile(self, run: _Run) -> BaseModel | None:
        command = run.command
        adapter = self._adapter_for(run.practice)
        started = time.perf_counter()
        try:
            with deadline_scope(command.expires_at, seconds=self._settings.call_budget_seconds):
                found = await adapter.find_by_reference(str(command.command_id))
        except PMSError as exc:
            self._observer.pms_called(
                run.received, run.practice.pms, RECONCILE_OPERATION, time.perf_counter() - started, exc.code
            )
            raise
        self._observer.pms_called(
            run.received, run.practice.pms, RECONCILE_OPERATION, time.perf_counter() - started, None
        )
        _log.info("reconciled command_id=%s found=%s", command.command_id, found is not None)
        return reconciled_payload(command, found)

    async def _last_look(self, run: _Run) -> BaseModel | None:
        """One reconcile before answering an unknown write DEADLINE_EXCEEDED; failures just mean 'not seen'."""
        try:
            return await self._reconcile(run)
        except PMSError:
            return None

    def _deadline(self, command: CommandEnvelope, received: Received) -> datetime:
        """``expires_at``, or ``max_age`` after the command was first seen when it sets none (or a later one)."""
        first_seen = received.first_seen or datetime.fromtimestamp(self._clock(), UTC)
        limit = first_seen + timedelta(seconds=self._settings.max_age_seconds)
        return limit if command.expires_at is None else min(command.expires_at, limit)


_REJECTED = {
    FailureKind.CIRCUIT_OPEN: Outcome.CIRCUIT_REJECTED,
    FailureKind.PARKED: Outcome.PARKED,
    FailureKind.DEFERRED: Outcome.DEFERRED,
    FailureKind.ERROR: Outcome.RETRYING,
}
