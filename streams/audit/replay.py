"""The replay: read the range's commands, dead letters, results and errors once, into a ledger.

Commands first (each one's head), so that each answer read afterwards finds its command or is known not to
have one. Per message, only what the report needs is decoded: headers alone for the lookback's command ids
and for dead letters; the head of the Avro body (:mod:`streams.audit.heads`) for commands, results and
errors in the range. A ``--practice`` filter is the message key (the practice id, by contract), checked
before anything is decoded.

An error answered to input that had no command id is named after where that input was read
(:func:`schemas.answers.undecodable_event_id`); such errors are matched to their input at the end.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from schemas import SchemaCatalog
from schemas import cloudevents as ce
from schemas.answers import undecodable_event_id
from streams.audit.classify import AnswerFate, answer_fate
from streams.audit.heads import COMMAND_HEAD, ERROR_HEAD, RESULT_HEAD, HeadError, HeadReader
from streams.audit.ledger import Answer, AnswerKind, DeadLetterMark, Ledger
from streams.audit.reading import PartitionRange, RangeReader
from streams.audit.window import AuditWindow
from streams.hops import read_hop
from streams.redrive import REDRIVE
from streams.topics import TopicNames

__all__ = ["Findings", "Orphan", "Plan", "Replay", "Undecodable"]


@dataclass
class Undecodable:
    """Input that is not a readable envelope, and what the relay answered to it, if anything."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    reason: str
    command_id: str | None = None  # from its ce_id / ce_correlationid header, when that is a command id
    answer_ce_id: str | None = None
    dead_lettered: bool = False


@dataclass(frozen=True)
class Orphan:
    answer: Answer
    command_id: str | None
    command_type: str | None
    practice_id: str | None
    timestamp_ms: int


@dataclass(frozen=True)
class Plan:
    """The offsets to read, per topic, fixed before reading."""

    lookback: list[PartitionRange]
    commands: list[PartitionRange]
    dead_letters: list[PartitionRange]
    results: list[PartitionRange]
    errors: list[PartitionRange]

    @property
    def in_range(self) -> list[PartitionRange]:
        return [*self.commands, *self.dead_letters, *self.results, *self.errors]

    @property
    def events(self) -> int:
        return sum(r.size for r in (*self.lookback, *self.in_range))


@dataclass
class Findings:
    plan: Plan
    ledger: Ledger = field(default_factory=Ledger)
    undecodable: list[Undecodable] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


class Replay:
    def __init__(
        self,
        reader: RangeReader,
        topics: TopicNames,
        window: AuditWindow,
        registry: SchemaCatalog,
        practice: str | None = None,
    ) -> None:
        self._reader = reader
        self._topics = topics
        self._window = window
        self._practice = practice.encode() if practice is not None else None
        self._commands = HeadReader(registry, "Command", COMMAND_HEAD)
        self._results = HeadReader(registry, "Result", RESULT_HEAD)
        self._errors = HeadReader(registry, "CommandError", ERROR_HEAD)
        self._earlier: set[str] = set()
        self._unnamed: list[tuple[Answer, int]] = []

    def plan(self) -> Plan:
        w, t, plan = self._window, self._topics, self._reader.plan
        return Plan(
            lookback=plan(t.commands, w.lookback_ms, w.start_ms),
            commands=plan(t.commands, w.start_ms, w.end_ms),
            dead_letters=plan(t.dead_letters, w.start_ms, w.read_end_ms),
            results=plan(t.results, w.start_ms, w.read_end_ms),
            errors=plan(t.errors, w.start_ms, w.read_end_ms),
        )

    def read(self, plan: Plan, progress: Callable[[int], None]) -> Findings:
        found = Findings(plan)
        steps: list[tuple[list[PartitionRange], Callable[[Any, Findings], None]]] = [
            (plan.lookback, self._earlier_command),
            (plan.commands, self._command),
            (plan.dead_letters, self._dead_letter),
            (plan.results, self._result),
            (plan.errors, self._error),
        ]
        for ranges, handle in steps:
            for batch in self._batches(ranges, progress, found.counts):
                for message in batch:
                    handle(message, found)
        self._match_unnamed(found)
        return found

    def _batches(
        self, ranges: list[PartitionRange], progress: Callable[[int], None], counts: Counter[str]
    ) -> Iterator[list[Any]]:
        practice = self._practice
        for batch in self._reader.read(ranges, progress):
            counts[f"read:{batch[0].topic()}"] += len(batch)
            yield batch if practice is None else [message for message in batch if message.key() == practice]

    def _earlier_command(self, message: Any, found: Findings) -> None:
        if (command_id := ce.header(message.headers(), "ce_id")) is not None:
            self._earlier.add(command_id)

    def _result(self, message: Any, found: Findings) -> None:
        self._answer(message, AnswerKind.RESULT, found)

    def _error(self, message: Any, found: Findings) -> None:
        self._answer(message, AnswerKind.ERROR, found)

    def _command(self, message: Any, found: Findings) -> None:
        timestamp = message.timestamp()[1]
        if not self._window.in_range(timestamp):
            found.counts["commands outside the range (out-of-order timestamps)"] += 1
            return
        try:
            head = self._commands.read(message.value())
        except HeadError as exc:
            self._undecodable(message, exc, "ce_id", found)
            return
        if not found.ledger.add_command(head, timestamp, message.partition(), message.offset()):
            # Headers only for a command read again (rare): a redrive copy says so in one.
            redrive = any(name == REDRIVE for name, _value in message.headers() or ())
            found.ledger.add_copy(head["command_id"], redrive=redrive)

    def _answer(self, message: Any, kind: AnswerKind, found: Findings) -> None:
        reader = self._results if kind is AnswerKind.RESULT else self._errors
        try:
            head = reader.read(message.value())
        except HeadError as exc:
            self._undecodable(message, exc, "ce_correlationid", found)
            return
        answer = Answer(
            kind,
            ce.header(message.headers(), "ce_id") or "",
            head.get("code"),
            head.get("attempts"),
            head.get("pms"),
            head.get("completed_at" if kind is AnswerKind.RESULT else "failed_at") or 0,
            message.topic(),
            message.partition(),
            message.offset(),
        )
        command_id = head.get("command_id")
        if command_id is None:
            self._unnamed.append((answer, message.timestamp()[1]))
        elif not found.ledger.add_answer(command_id, answer):
            self._homeless(answer, command_id, head, message.timestamp()[1], found)

    def _homeless(
        self, answer: Answer, command_id: str | None, head: dict[str, Any], timestamp: int, found: Findings
    ) -> None:
        fate = answer_fate(timestamp, command_id in self._earlier, self._window)
        found.counts[f"answers:{fate.value}"] += 1
        if fate is AnswerFate.ORPHAN:
            orphan = Orphan(answer, command_id, head.get("command_type"), head.get("practice_id"), timestamp)
            found.orphans.append(orphan)

    def _dead_letter(self, message: Any, found: Findings) -> None:
        headers = message.headers() or ()
        hop = read_hop(headers)
        mark = DeadLetterMark(
            hop.error_code if hop else None,
            hop.attempts if hop else None,
            message.partition(),
            message.offset(),
        )
        command_id = ce.header(headers, "ce_id")
        if command_id is not None and found.ledger.add_dead_letter(command_id, mark):
            return
        if hop is not None:  # the dead letter of undecodable input names where that input was read
            at = (hop.origin.topic, hop.origin.partition, hop.origin.offset)
            for item in found.undecodable:
                if (item.topic, item.partition, item.offset) == at:
                    item.dead_lettered = True
                    return
        found.counts["dead letters of commands outside the range"] += 1

    def _undecodable(self, message: Any, exc: HeadError, id_header: str, found: Findings) -> None:
        command_id = ce.header(message.headers(), id_header)
        item = Undecodable(
            message.topic(),
            message.partition(),
            message.offset(),
            message.timestamp()[1],
            str(exc),
            command_id if command_id is not None and _is_uuid(command_id) else None,
        )
        found.undecodable.append(item)

    def _match_unnamed(self, found: Findings) -> None:
        """Errors without a command id, matched by their ``ce_id`` to the input they answer: undecodable
        input first, then (only if some are left) any command of the range, whose payload the worker may
        have found invalid where its head was readable."""
        if not self._unnamed:
            return
        topics = self._topics
        by_input = {
            undecodable_event_id(item.topic, item.partition, item.offset): item for item in found.undecodable
        }
        left = []
        for answer, timestamp in self._unnamed:
            item = by_input.get(answer.ce_id)
            if item is not None:
                item.answer_ce_id = answer.ce_id
            else:
                left.append((answer, timestamp))
        if not left:
            return
        by_command = {
            undecodable_event_id(topics.commands, partition, offset): command_id
            for command_id, partition, offset in found.ledger.locations()
        }
        for answer, timestamp in left:
            command_id = by_command.get(answer.ce_id)
            if command_id is None or not found.ledger.add_answer(command_id, answer):
                self._homeless(answer, None, {}, timestamp, found)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
