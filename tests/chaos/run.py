"""One chaos run, start to verdict: the relay (a :class:`~tests.relay_system.RelaySystem` with real worker
processes) serves the cast's practices on both sandboxes under the run's faults, while the workload is sent
at a steady rate and workers are SIGKILLed on schedule (each restarted at once). Then, with bounded polls only:
wait for every answer, wait for the system to settle (the group's commit point at the end of every topic it
reads, no Eaglesoft write still pending), read the sandboxes out and judge.

The caller owns the broker and the sandboxes (a test's fixtures, the bench's own); the run owns everything
else and stops it, whatever happens.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from deploy.bench.cpu import cpu_seconds
from tests.chaos import evidence, faults
from tests.chaos.cast import Cast, build_cast
from tests.chaos.collector import AnswerCollector, Seen
from tests.chaos.offsets import group_offsets
from tests.chaos.readout import WriteReadout, pending_writes, read_writes
from tests.chaos.recovery import Recovery, recovery
from tests.chaos.sender import Sender
from tests.chaos.verdict import MalformedSent, Verdict, judge
from tests.chaos.workload import Malformed, Planned, Workload, build_workload
from tests.contract.dentrix_harness import DentrixHarness
from tests.contract.eaglesoft_harness import EaglesoftHarness
from tests.contract.harness import AdminApi
from tests.relay_system import RelaySystem

__all__ = ["ChaosConfig", "ChaosResult", "ChaosRun", "Kill"]

# Every practice: a quick circuit (so an opened one closes within the run) and room for the load.
_PRACTICE_SETTINGS = {
    "rate_per_second": 50,
    "max_concurrent": 4,
    "circuit": {"fail_max": 5, "reset_timeout_seconds": 5},
}


# Nothing answered for this long, the commit point at the end of every topic, no write pending: the rest will
# never be answered (the wait for answers stops there instead of at its timeout).
_QUIET_S = 15.0
# Nothing answered for this long, whatever the commit point says: nothing is moving any more (retry tiers
# are seconds, the reconcile grace and the Eaglesoft write wait well under a minute). A message that a worker
# dropped without tracking it holds the commit point for ever while nobody reads it again.
_IDLE_S = 60.0


@dataclass(frozen=True)
class ChaosConfig:
    commands: int = 600
    malformed: int = 20
    workers: int = 2
    kills: tuple[float, ...] = (0.4,)  # when to SIGKILL a worker, as shares of the workload sent
    seed: int = 1
    send_rate: float = 20.0  # messages per second
    partitions: int = 6
    dentrix_practices: int = 2
    eaglesoft_practices: int = 2
    write_share: float = 0.2
    # At least the Eaglesoft adapter's wait for an asynchronous write (the 30 s call budget) plus a margin: a
    # write still pending when the grace runs out is invisible to find_by_reference and gets written again.
    reconcile_grace: float = 35.0
    answer_timeout: float = 150.0  # after the last message is sent, for every answer
    settle_timeout: float = 60.0  # then for the commit point and Eaglesoft's pending writes


@dataclass
class Kill:
    slot: int  # which of the ``workers`` running at once
    worker: int  # the RelaySystem's index of the worker killed
    at: float  # time.monotonic() of the SIGKILL
    cpu_s: float | None  # the worker's CPU seconds, read just before
    ready_after_s: float | None = None  # from the kill until its replacement was ready
    recovery: Recovery | None = None


@dataclass
class ChaosResult:
    config: ChaosConfig
    verdict: Verdict
    kills: list[Kill]
    worker_cpu_s: float | None  # every worker process, killed ones included; None if one could not be read
    wall_s: float  # the whole run, set-up included
    first_send: float  # time.monotonic() of the first message sent
    send_s: float  # first message sent to last
    answered_s: float | None  # first message sent to the last first answer
    faults_fired: dict[str, dict[str, int]]
    dead_letters: int
    timeline: list[int]  # first answers per second, from the first send
    workdir: Path
    notes: list[str] = field(default_factory=list)  # what did not settle, and such
    evidence: list[str] = field(default_factory=list)  # only when the verdict found problems


class ChaosRun:
    def __init__(
        self,
        config: ChaosConfig,
        *,
        bootstrap: str,
        workdir: Path,
        dentrix: DentrixHarness,
        eaglesoft: EaglesoftHarness,
        progress: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.config = config
        self._bootstrap = bootstrap
        self._workdir = workdir
        self._dentrix = dentrix
        self._eaglesoft = eaglesoft
        self._progress = progress
        self._workers: dict[int, subprocess.Popen[bytes]] = {}  # RelaySystem's worker index -> process
        self._started = 0
        self._cpu: dict[int, float | None] = {}  # worker index -> CPU seconds, read before it exited
        self.notes: list[str] = []

    def run(self) -> ChaosResult:
        began = time.monotonic()
        config = self.config
        cast = build_cast(
            self._dentrix,
            self._eaglesoft,
            dentrix_practices=config.dentrix_practices,
            eaglesoft_practices=config.eaglesoft_practices,
        )
        workload = build_workload(
            cast,
            commands=config.commands,
            malformed=config.malformed,
            seed=config.seed,
            write_share=config.write_share,
        )
        system = RelaySystem(
            bootstrap=self._bootstrap,
            workdir=self._workdir,
            practices=cast.practices(_PRACTICE_SETTINGS),
            secrets=cast.secrets,
            partitions=config.partitions,
            reconcile_grace=config.reconcile_grace,
        )
        system.start(workers=0)
        collector = AnswerCollector(self._bootstrap, system.topics).start()
        sender = Sender(self._bootstrap, system.topics.commands)
        try:
            return self._run(began, cast, workload, system, collector, sender)
        finally:
            faults.clear(self._dentrix, self._eaglesoft)
            sender.stop()
            system.stop()
            collector.stop()

    # ---- the phases --------------------------------------------------------------------------------------

    def _run(
        self,
        began: float,
        cast: Cast,
        workload: Workload,
        system: RelaySystem,
        collector: AnswerCollector,
        sender: Sender,
    ) -> ChaosResult:
        config = self.config
        slots = [self._start_worker(system) for _ in range(config.workers)]
        faults.install(self._dentrix, self._eaglesoft, config.commands, config.seed)
        self._progress(f"sending {len(workload.items)} messages at {config.send_rate:g}/s")
        sender.start(workload.items, config.send_rate)
        kills = [
            self._kill(system, sender, slots, n, share, len(workload.items))
            for n, share in enumerate(config.kills)
        ]
        if not sender.join(timeout=len(workload.items) / config.send_rate + 120):
            self.notes.append("the sender did not finish in time")
        sent_done = time.monotonic()
        self._progress("all sent; waiting for the answers")
        expected = self._expected(workload, sender)
        self._wait(
            lambda: self._answered_or_idle(system, collector, expected), config.answer_timeout, "every answer"
        )
        answered_at = time.monotonic() if collector.answered(expected) == expected else None
        self._progress(
            f"{len(collector.answered(expected))}/{len(expected)} answered; waiting for the system to settle"
        )
        self._wait(
            lambda: self._settled(system) or (self._writes_settled() and self._idle(collector)),
            config.settle_timeout,
            "the commit point and pending writes",
        )
        behind = self._behind(system)
        if behind:
            self.notes.append(f"commit point short of the end: {behind}")
        for index, worker in self._workers.items():
            if index not in self._cpu:
                self._cpu[index] = cpu_seconds(worker.pid)
                if worker.poll() is not None:
                    self.notes.append(f"worker {index} exited by itself (code {worker.returncode})")
        writes = read_writes(
            [p for p in workload.commands if p.is_write], cast, self._dentrix, self._eaglesoft
        )
        fired = faults.fired(self._dentrix, self._eaglesoft)
        seen = collector.seen()
        verdict = self._judge(workload, sender, seen, writes)
        first_send = min((loc.sent for loc in sender.located.values()), default=began)
        self._recoveries(kills, workload, sender, seen, sent_done)
        result = ChaosResult(
            config=config,
            verdict=verdict,
            kills=kills,
            worker_cpu_s=_total(self._cpu.values()),
            wall_s=time.monotonic() - began,
            first_send=first_send,
            send_s=sent_done - first_send,
            answered_s=_last_first_answer(seen, expected, first_send) if answered_at else None,
            faults_fired=fired,
            dead_letters=collector.dead_letters,
            timeline=_timeline(seen, expected, first_send),
            workdir=self._workdir,
            notes=self.notes,
        )
        if not verdict.ok:
            result.evidence = self._evidence(system, cast, workload, sender, verdict)
        return result

    def _start_worker(self, system: RelaySystem) -> int:
        index, self._started = self._started, self._started + 1  # RelaySystem numbers workers in start order
        self._workers[index] = system.start_worker()
        return index

    def _kill(
        self, system: RelaySystem, sender: Sender, slots: list[int], n: int, share: float, total: int
    ) -> Kill:
        self._wait(
            lambda: sender.handed >= share * total,
            total / self.config.send_rate + 60,
            f"kill {n + 1}'s moment",
        )
        slot = n % len(slots)
        victim = slots[slot]
        cpu = cpu_seconds(self._workers[victim].pid)
        self._cpu[victim] = cpu
        at = time.monotonic()
        system.kill_worker(victim, sig=signal.SIGKILL)
        self._progress(f"SIGKILLed worker {victim} (slot {slot}) after {sender.handed} messages; restarting")
        kill = Kill(slot=slot, worker=victim, at=at, cpu_s=cpu)
        try:
            slots[slot] = self._start_worker(system)
        except AssertionError as exc:  # the run goes on with the workers left: its verdict still holds
            tail = system.worker_log(self._started - 1).splitlines()[-3:]
            self.notes.append(f"the replacement for worker {victim} did not start ({exc}): {tail}")
            return kill
        kill.ready_after_s = time.monotonic() - at
        return kill

    def _expected(self, workload: Workload, sender: Sender) -> set[str]:
        """What must be answered: every delivered command's id, every delivered malformed message's ce_id."""
        expected = set()
        for index, item in enumerate(workload.items):
            if index not in sender.located:
                continue
            if isinstance(item, Planned):
                expected.add(item.command_id)
            else:
                event_id = sender.malformed_event_id(index)
                if event_id is not None:
                    expected.add(event_id)
        return expected

    def _answered_or_idle(self, system: RelaySystem, collector: AnswerCollector, expected: set[str]) -> bool:
        """Everything answered, or nothing more can come: no answer for a while and nothing left in flight."""
        if collector.answered(expected) == expected:
            return True
        quiet = time.monotonic() - collector.last_arrival
        return quiet > _IDLE_S or (quiet > _QUIET_S and self._settled(system))

    def _behind(self, system: RelaySystem) -> list[str]:
        topics = [system.topics.commands, *system.topics.retries]
        offsets = group_offsets(self._bootstrap, system.app_id, topics, system.partitions)
        return [f"{o.topic}[{o.partition}] committed={o.committed} end={o.end}" for o in offsets if o.behind]

    def _idle(self, collector: AnswerCollector) -> bool:
        return time.monotonic() - collector.last_arrival > _IDLE_S

    def _writes_settled(self) -> bool:
        return pending_writes(self._eaglesoft) == 0

    def _settled(self, system: RelaySystem) -> bool:
        if not self._writes_settled():
            return False
        return not self._behind(system)

    def _wait(self, condition: Callable[[], bool], timeout: float, what: str) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.25)
        self.notes.append(f"gave up waiting for {what} after {timeout:.0f}s")
        return False

    # ---- the verdict and its evidence --------------------------------------------------------------------

    def _judge(
        self, workload: Workload, sender: Sender, seen: list[Seen], writes: dict[str, WriteReadout]
    ) -> Verdict:
        malformed, undelivered = [], []
        for index, item in enumerate(workload.items):
            where = sender.located.get(index)
            if where is None:
                undelivered.append(item.command_id if isinstance(item, Planned) else f"{item.label}#{index}")
            if isinstance(item, Malformed):
                place = f"{where.partition}:{where.offset}" if where else "-"
                malformed.append(MalformedSent(item.label, place, sender.malformed_event_id(index)))
        return judge(workload.commands, malformed, seen, writes, undelivered=undelivered)

    def _recoveries(
        self, kills: list[Kill], workload: Workload, sender: Sender, seen: list[Seen], sent_done: float
    ) -> None:
        sent = {
            item.command_id: (where.partition, where.sent)
            for index, item in enumerate(workload.items)
            if isinstance(item, Planned) and (where := sender.located.get(index)) is not None
        }
        first: dict[str, float] = {}
        for answer in seen:
            if answer.command_id in sent and answer.arrived < first.get(answer.command_id, float("inf")):
                first[answer.command_id] = answer.arrived
        for n, kill in enumerate(kills):
            horizon = kills[n + 1].at if n + 1 < len(kills) else sent_done
            kill.recovery = recovery(kill.at, sent, first, horizon=horizon)

    def _evidence(
        self, system: RelaySystem, cast: Cast, workload: Workload, sender: Sender, verdict: Verdict
    ) -> list[str]:
        places = {
            item.command_id: (where.partition, where.offset)
            for index, item in enumerate(workload.items)
            if isinstance(item, Planned) and (where := sender.located.get(index)) is not None
        }
        sandboxes: dict[str, AdminApi] = {
            s.practice_id: self._eaglesoft if s.vendor == "eaglesoft" else self._dentrix for s in cast.stages
        }
        logs = [system.worker_log(i) for i in range(self._started)]
        return evidence.gather(system, verdict.problems, places, logs, sandboxes)


def _total(values: Iterable[float | None]) -> float | None:
    readings = list(values)
    if not readings or any(r is None for r in readings):
        return None
    return sum(r for r in readings if r is not None)


def _first_answers(seen: list[Seen], expected: set[str]) -> dict[str, float]:
    """Expected key (command id, malformed message's ce_id) -> arrival of its first answer."""
    first: dict[str, float] = {}
    for answer in seen:
        for key in (answer.command_id, answer.ce_id):
            if key is not None and key in expected and answer.arrived < first.get(key, float("inf")):
                first[key] = answer.arrived
    return first


def _last_first_answer(seen: list[Seen], expected: set[str], first_send: float) -> float:
    return max(_first_answers(seen, expected).values(), default=first_send) - first_send


def _timeline(seen: list[Seen], expected: set[str], first_send: float) -> list[int]:
    seconds = [int(at - first_send) for at in _first_answers(seen, expected).values() if at >= first_send]
    counts = [0] * (max(seconds, default=-1) + 1)
    for second in seconds:
        counts[second] += 1
    return counts
