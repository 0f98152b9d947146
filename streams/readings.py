"""The worker's live state, read on demand for metrics gauges and status records (nothing is stored here).

A practice belongs to this worker when the partition of ``pms.commands`` its id hashes to is assigned here:
commands are keyed by practice id and partitioned with murmur2 (the Java client's default, which the
platform client and our own producers use), and its table entries live in the same partition. Only those
practices are read: another worker reports the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache

from aiokafka.partitioner import murmur2  # type: ignore[import-untyped]

from streams.activity import Activity
from streams.circuit import CircuitBoard
from streams.due_gates import Waiting
from streams.registry import Practice, Registry
from streams.scheduler import Scheduler

__all__ = ["PracticeReading", "Readings", "WorkerReading", "partition_of"]


def partition_of(practice_id: str, partitions: int) -> int:
    """The partition a practice's commands are in (aiokafka's and the Java client's default partitioner)."""
    hashed: int = murmur2(practice_id.encode())
    return (hashed & 0x7FFFFFFF) % partitions


@dataclass(frozen=True)
class PracticeReading:
    practice_id: str
    pms: str
    circuit: str  # closed | open | half-open (pybreaker's names)
    failures: int  # consecutive failures counted by the circuit
    parked_until: float | None  # epoch seconds, while a 429's Retry-After runs
    slots_in_use: int
    slots: int
    backlog: int
    opened_at: float | None = None  # epoch seconds of the circuit's latest open (the circuits table's)


@dataclass(frozen=True)
class WorkerReading:
    in_flight: int
    max_in_flight: int
    partitions: tuple[int, ...]  # of the commands topic
    lag: dict[int, int]  # partition -> records behind
    retry_tiers: dict[str, Waiting] = field(default_factory=dict)  # every tier topic, waiting or not


class Readings:
    def __init__(
        self,
        *,
        registry: Registry,
        commands_topic: str,
        partitions: int,
        scheduler: Scheduler,
        waiting: Callable[[], dict[str, Waiting]],
        tiers: Iterable[str],
        circuits: CircuitBoard,
        assigned: Callable[[], tuple[int, ...]],
        lag: Callable[[], dict[int, int]],
        activity: Activity,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._registry = registry
        self.commands_topic = commands_topic
        self._scheduler = scheduler
        self._waiting = waiting
        self._tiers = tuple(tiers)
        self._circuits = circuits
        self._assigned = assigned
        self._lag = lag
        self.activity = activity
        self._clock = clock
        self._partition = cache(lambda practice_id: partition_of(practice_id, partitions))

    def owned(self) -> list[Practice]:
        """The registry's practices whose partition is assigned to this worker, by id."""
        assigned = set(self._assigned())
        if not assigned:
            return []
        practices = self._registry.practices
        return [practices[p] for p in sorted(practices) if self._partition(p) in assigned]

    def practice(self, practice: Practice) -> PracticeReading:
        storage = self._circuits.storage(practice.practice_id, practice.pms)
        parked_until = storage.parked_until
        return PracticeReading(
            practice_id=practice.practice_id,
            pms=str(practice.pms),
            circuit=storage.state,
            failures=storage.counter,
            parked_until=parked_until if parked_until is not None and parked_until > self._clock() else None,
            slots_in_use=self._scheduler.slots_in_use(practice.practice_id),
            slots=practice.max_concurrent,
            backlog=self._scheduler.backlog(practice.practice_id),
            opened_at=storage.opened_at.timestamp() if storage.opened_at is not None else None,
        )

    def practices(self) -> list[PracticeReading]:
        return [self.practice(practice) for practice in self.owned()]

    def worker(self) -> WorkerReading:
        waiting = self._waiting()
        return WorkerReading(
            in_flight=self._scheduler.in_flight,
            max_in_flight=self._scheduler.max_in_flight,
            partitions=self._assigned(),
            lag=self._lag(),
            retry_tiers={tier: waiting.get(tier, Waiting(0, None)) for tier in self._tiers},
        )

    def now(self) -> float:
        return self._clock()

    def pms_of(self, practice_id: str) -> str:
        practice = self._registry.get(practice_id)
        return str(practice.pms) if practice is not None else ""
