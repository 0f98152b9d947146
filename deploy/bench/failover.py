"""P4: fail-over after a SIGKILL, and table recovery, measured on the real system (it asserts nothing).

    python -m deploy.bench.failover                 # 3 kills, both stores' recovery of 100,000 inbox entries
    python -m deploy.bench.failover --quick         # 1 kill, 20,000 entries

**Fail-over**: two workers serve practices spread over every partition of pms.commands, a steady stream of
reads flows (Dentrix sandbox), one worker is SIGKILLed and not replaced. The figure is the time from the
kill until every partition that had work pending answers again (``tests/chaos/recovery.py``); the survivor's
log gives the steps in between (its revocation, the new assignment, table recovery, streams resumed).

**Recovery**: the inbox changelog is filled with entries (as the worker writes them), then one worker starts
on it: the time from its assignment to its streams resuming, for the in-memory store and for RocksDB
(``rocksdb://``, driver rocksdict), the latter once with an empty data dir and once with the data dir of an
earlier run (a restarted container keeps its ``emptyDir``, and a promoted standby its local copy).

``KAFKA_BOOTSTRAP_SERVERS`` (or ``--bootstrap-servers``) uses an existing broker; otherwise a throwaway broker
on free ports is started and wiped at the end.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from aiokafka.partitioner import murmur2
from confluent_kafka import Producer

from deploy.bench.figures import Figure, render_summary
from deploy.bench.load import build_commands, plan
from deploy.bench.rig import Rig
from deploy.bench.sandbox import SandboxProcess
from streams.inbox import InboxEntry, Phase, StoredAnswer
from tests.relay_system import wait_until

__all__ = ["app", "figures"]

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])

_SECTION_FAILOVER = "P4 fail-over"
_SECTION_RECOVERY = "P4 recovery"
_PARTITIONS = 6
_PRACTICES_PER_PARTITION = 2

# Steps of a rebalance as the survivor's log shows them (the first line of each after the kill).
_STEPS = (
    ("revoke", 'msg="partitions revoked"'),
    ("handed over", 'msg="partitions handed over"'),
    ("assigned", 'msg="Executing _on_partitions_assigned"'),
    ("recovery start", "Restoring state from changelog topics"),
    ("recovery done", 'msg="Recovery complete"'),
    ("streams resumed", 'msg="Worker ready" service=Recovery'),
)
_TS = re.compile(r"^ts=(\S+)")


# ---- fail-over ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailoverRun:
    flowing_s: float | None  # kill -> every partition answering again (each gets steady traffic)
    first_answer_s: float | None
    resumed_s: dict[int, float]  # partition -> kill to its first answer (past the in-flight margin)
    victim_partitions: tuple[int, ...]
    steps_s: dict[str, float]  # survivor's log: step -> seconds after the kill
    unanswered: int = 0  # commands sent and not answered 30 s after the traffic stopped


def practice_partitions(count: int, per_partition: int) -> dict[str, int]:
    """Practice ids whose keys (murmur2, as the platform's producer and Faust partition) cover every one of
    ``count`` partitions ``per_partition`` times: practice id -> partition."""
    chosen: dict[str, int] = {}
    filled = dict.fromkeys(range(count), 0)
    n = 0
    while any(v < per_partition for v in filled.values()):
        practice_id = f"fo-{n:03d}"
        partition = (murmur2(practice_id.encode()) & 0x7FFFFFFF) % count
        if filled[partition] < per_partition:
            chosen[practice_id] = partition
            filled[partition] += 1
        n += 1
    return chosen


def resumed_after(
    kill: float, sent: Mapping[str, tuple[int, float]], answered: Mapping[str, float], margin: float = 0.5
) -> dict[int, float]:
    """Per partition: seconds from ``kill`` to its first answer later than ``kill + margin``."""
    firsts: dict[int, float] = {}
    for command_id, at in answered.items():
        if command_id in sent and at > kill + margin:
            partition = sent[command_id][0]
            firsts[partition] = min(firsts.get(partition, float("inf")), at - kill)
    return firsts


def log_steps(log: str, after: float) -> dict[str, float]:
    """Seconds from ``after`` (epoch) to the first line of each step in a worker's log."""
    steps: dict[str, float] = {}
    for line in log.splitlines():
        match = _TS.match(line)
        if match is None:
            continue
        at = datetime.fromisoformat(match[1].replace("Z", "+00:00")).timestamp()
        if at < after:
            continue
        for name, marker in _STEPS:
            if name not in steps and marker in line:
                steps[name] = at - after
    return steps


def assigned_partitions(log: str, topic: str) -> set[int]:
    """The partitions of ``topic`` that the first "partitions revoked" line of ``log`` lists."""
    for line in log.splitlines():
        if 'msg="partitions revoked"' in line:
            return {int(p) for p in re.findall(re.escape(topic) + r":(\d+)", line)}
    return set()


class _Stream:
    """Reads at a steady rate over every practice, each stamped with its partition and send time."""

    def __init__(self, rig: Rig, sandbox: SandboxProcess, practices: Mapping[str, int], rate: float) -> None:
        self._rig, self._sandbox, self._practices, self._rate = rig, sandbox, practices, rate
        self.sent: dict[str, tuple[int, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stream", daemon=True)

    def start(self) -> _Stream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        ids = list(self._practices)
        start, n = time.monotonic(), 0
        while not self._stop.is_set():
            pause = start + n / self._rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            (envelope,) = build_commands(plan(1, [ids[n % len(ids)]]), self._sandbox.known)
            for command_id, at in self._rig.send([envelope]).items():
                self.sent[command_id] = (self._practices[envelope.practice_id], at)
            n += 1


def failover_once(
    bootstrap: str,
    sandbox: SandboxProcess,
    workdir: Path,
    *,
    rate: float,
    after_s: float,
    store: str = "memory",
    inbox: int = 0,
    tree: Path | None = None,
) -> FailoverRun:
    """One kill on a fresh rig whose inbox holds ``inbox`` entries already; ``tree``: run the workers from that
    source tree (a before/after comparison)."""
    practices = practice_partitions(_PARTITIONS, _PRACTICES_PER_PARTITION)
    connection, secret = sandbox.connection()
    registry = {
        "defaults": {"dentrix": {"rate_per_second": 1000, "max_concurrent": 4}},
        "practices": {
            pid: {"pms": "dentrix", "time_zone": sandbox.known.dst_location_zone, "connection": connection}
            for pid in practices
        },
    }
    rig = Rig(
        bootstrap=bootstrap,
        workdir=workdir,
        registry=registry,
        env={"BENCH_DENTRIX_SECRET": secret, **({"PYTHONPATH": str(tree)} if tree else {})},
        partitions=_PARTITIONS,
    )
    rig.start(0)  # the topics (and the collector), no worker yet
    try:
        fill_inbox(bootstrap, rig.topics.changelog(rig.app_id, "inbox"), inbox, _PARTITIONS)
        for index in range(2):
            # Each worker its own data dir, as each pod has its own volume.
            data = ("--store", store, "--data-dir", str(workdir / f"data-{index}"))
            rig.worker_args = data if store != "memory" else ()
            with _working_directory(tree):  # `python -m cli` imports from its working directory first
                rig.add_worker()
            log = workdir / f"worker-{index}.log"
            wait_until(functools.partial(_recovered, log), timeout=180, what="the recovery")
        warmup = build_commands(plan(2 * len(practices), list(practices)), sandbox.known)
        if not rig.wait_answers(list(rig.send(warmup)), timeout=120):
            raise RuntimeError(f"the warm-up was not answered; see {workdir}")
        stream = _Stream(rig, sandbox, practices, rate).start()
        # Steady flow on both workers, and time for the standby replicas to catch up with the inbox.
        time.sleep(5.0 + inbox / 4000)
        victim = rig.worker_pids[0]
        kill_wall, kill = time.time(), time.monotonic()
        os.kill(victim, signal.SIGKILL)
        time.sleep(after_s)
        stream.stop()
        rig.wait_answers(list(stream.sent), timeout=30)
    finally:
        rig.stop()
    survivor_log = (workdir / "worker-1.log").read_text(encoding="utf-8", errors="replace")
    # Its first revocation after the kill names what it held: the victim held the rest.
    held = assigned_partitions(survivor_log[_offset_before(survivor_log, kill_wall) :], rig.topics.commands)
    resumed = resumed_after(kill, stream.sent, rig.arrived)
    return FailoverRun(
        flowing_s=max(resumed.values()) if len(resumed) == _PARTITIONS else None,
        first_answer_s=min((a - kill for a in rig.arrived.values() if a > kill), default=None),
        resumed_s=resumed,
        victim_partitions=tuple(sorted(set(range(_PARTITIONS)) - held)) if held else (),
        steps_s=log_steps(survivor_log, kill_wall),
        unanswered=len(stream.sent) - rig.answered(list(stream.sent)),
    )


def _offset_before(log: str, at: float) -> int:
    """Where the lines of ``log`` stamped before ``at`` (epoch) end."""
    position = 0
    for line in log.splitlines(keepends=True):
        match = _TS.match(line)
        if match and datetime.fromisoformat(match[1].replace("Z", "+00:00")).timestamp() >= at:
            break
        position += len(line)
    return position


# ---- recovery -------------------------------------------------------------------------------------------


def fill_inbox(
    bootstrap: str, changelog: str, entries: int, partitions: int, answer_bytes: int = 600
) -> None:
    """``entries`` DONE inbox entries on the changelog, as the worker's table writes them (key and value JSON:
    Faust's table serializer), spread over the partitions."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 50}
    )  # no compression: aiokafka lacks lz4
    answer = StoredAnswer("result", b"practice", os.urandom(answer_bytes // 2).hex().encode())
    now = time.time()
    for n in range(entries):
        partition = n % partitions
        entry = InboxEntry(Phase.DONE, hop=0, attempts=1, since=now, partition=partition, answer=answer)
        value = json.dumps(entry.to_json()).encode()
        while True:
            try:
                producer.produce(
                    changelog, key=json.dumps(f"cmd-{n:08d}").encode(), value=value, partition=partition
                )
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(120)


@dataclass(frozen=True)
class RecoveryRun:
    store: str
    data: str  # "empty" (a new pod) or "kept" (a restarted container: its data dir survives)
    entries: int
    recovery_s: float | None  # assignment -> streams resumed (the worker's own log)
    ready_s: float | None  # first log line -> streams resumed


def ready_times(log: str) -> tuple[float | None, float | None]:
    """(assignment -> streams resumed, first line -> streams resumed) of the first recovery in ``log``."""
    first = assigned = None
    for line in log.splitlines():
        match = _TS.match(line)
        if match is None:
            continue
        at = datetime.fromisoformat(match[1].replace("Z", "+00:00")).timestamp()
        first = at if first is None else first
        if 'msg="Executing _on_partitions_assigned"' in line:
            assigned = at
        elif 'msg="Worker ready" service=Recovery' in line and first is not None:
            return (None if assigned is None else at - assigned), at - first
    return None, None


def recovery_runs(
    bootstrap: str, sandbox: SandboxProcess, workdir: Path, *, store: str, entries: int
) -> list[RecoveryRun]:
    """One worker recovers ``entries`` inbox entries from the changelog; with RocksDB it is then SIGKILLed
    and started again on the same data dir."""
    connection, secret = sandbox.connection()
    practice = {"pms": "dentrix", "time_zone": sandbox.known.dst_location_zone, "connection": connection}
    rig = Rig(
        bootstrap=bootstrap,
        workdir=workdir,
        registry={"practices": {"fo-000": practice}},
        env={"BENCH_DENTRIX_SECRET": secret},
        partitions=_PARTITIONS,
        worker_args=("--store", store, "--data-dir", str(workdir / "data"), "--status-interval", "0"),
    )
    rig.start(0)  # the topics (and the collector), no worker yet
    runs = []
    try:
        fill_inbox(bootstrap, rig.topics.changelog(rig.app_id, "inbox"), entries, _PARTITIONS)
        rounds = ["empty", "kept"] if store == "rocksdb" else ["empty"]
        for index, data in enumerate(rounds):
            recovery_s, ready_s = _start_and_kill(rig, workdir / f"worker-{index}.log")
            runs.append(RecoveryRun(store, data, entries, recovery_s, ready_s))
    finally:
        rig.stop()
    return runs


def _recovered(log: Path) -> bool:
    return 'msg="Worker ready" service=Recovery' in log.read_text(encoding="utf-8", errors="replace")


def _start_and_kill(rig: Rig, log: Path) -> tuple[float | None, float | None]:
    """Start one more worker, wait for its tables' recovery, SIGKILL it: its :func:`ready_times`."""
    rig.add_worker()  # until the worker runs; its tables may still be recovering
    wait_until(
        lambda: ready_times(log.read_text(encoding="utf-8", errors="replace"))[1] is not None,
        timeout=180,
        what="the recovery",
    )
    times = ready_times(log.read_text(encoding="utf-8", errors="replace"))
    pid = rig.worker_pids[-1]
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: _gone(pid), timeout=30, what="the worker's exit")
    return times


def _gone(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return True


# ---- figures --------------------------------------------------------------------------------------------


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _load() -> str:
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


def failover_figures(runs: Sequence[FailoverRun], settings: str) -> list[Figure]:
    flowing = _median([r.flowing_s for r in runs])
    detail = f"{len(runs)} kill(s), 2 workers, 6 partitions; {settings}; {_load()}"
    figures = [
        Figure(
            _SECTION_FAILOVER,
            "SIGKILL -> every partition answering (median)",
            _s(flowing),
            goal="<= 10 s",
            met=None if flowing is None else flowing <= 10.0,
            detail=detail + "; each: " + ", ".join(_s(r.flowing_s) for r in runs),
        )
    ]
    for step in [name for name, _ in _STEPS]:
        values = [r.steps_s.get(step) for r in runs]
        if any(v is not None for v in values):
            figures.append(Figure(_SECTION_FAILOVER, f"  survivor: {step} (median)", _s(_median(values))))
    survivor = [
        max((s for p, s in r.resumed_s.items() if p not in r.victim_partitions), default=None) for r in runs
    ]
    figures.append(
        Figure(
            _SECTION_FAILOVER, "  survivor's own partitions answering again (median)", _s(_median(survivor))
        )
    )
    return figures


def recovery_figures(runs: Sequence[RecoveryRun]) -> list[Figure]:
    found = []
    for run in runs:
        name = (
            f"{run.entries:,} inbox entries, {run.store}, data dir {run.data}: assignment -> streams resumed"
        )
        met = None if run.recovery_s is None else run.recovery_s <= 5.0
        detail = f"1 worker, 6 partitions; process start -> resumed {_s(run.ready_s)}; {_load()}"
        goal = "<= 5 s" if run.entries >= 100_000 else ""
        found.append(Figure(_SECTION_RECOVERY, name, _s(run.recovery_s), goal, met if goal else None, detail))
    return found


def figures(quick: bool) -> list[Figure]:
    """The P4 figures for ``python -m deploy.bench.perf``."""
    root = Path(tempfile.mkdtemp(prefix="relay-failover-"))
    with _broker(os.environ.get("KAFKA_BOOTSTRAP_SERVERS")) as bootstrap:
        cases = [Case("memory store"), Case("rocksdb store", store="rocksdb")]
        found = _run_all(bootstrap, root, cases, repeats=1 if quick else 3, after_s=20.0, inbox=20_000)
        return found + _recoveries(bootstrap, root, 20_000 if quick else 100_000)


def _recoveries(bootstrap: str, root: Path, entries: int) -> list[Figure]:
    sandbox = SandboxProcess(root).start()
    try:
        runs = [
            run
            for store in ("memory", "rocksdb")
            for run in recovery_runs(
                bootstrap, sandbox, root / f"recovery-{store}", store=store, entries=entries
            )
        ]
    finally:
        sandbox.stop()
    for run in runs:
        typer.echo(f"recovery: {run}")
    return recovery_figures(runs)


@dataclass(frozen=True)
class Case:
    label: str
    store: str = "memory"
    tree: Path | None = None  # the workers' source tree; None: this one


def _run_all(
    bootstrap: str, root: Path, cases: Sequence[Case], *, repeats: int, after_s: float, inbox: int
) -> list[Figure]:
    found: list[Figure] = []
    sandbox = SandboxProcess(root).start()
    try:
        sandbox.set_latency(20)
        runs: dict[str, list[FailoverRun]] = {case.label: [] for case in cases}
        for n in range(repeats):  # the cases take turns: a drift in the machine's load hits each alike
            for case in cases:
                workdir = root / f"{case.label.replace(' ', '-')}-kill-{n}"
                run = failover_once(
                    bootstrap, sandbox, workdir, rate=40.0, after_s=after_s, store=case.store, inbox=inbox,
                    tree=case.tree,
                )  # fmt: skip
                runs[case.label].append(run)
                typer.echo(f"fail-over {case.label} #{n}: {run}")
        for case in cases:
            found += failover_figures(runs[case.label], f"{case.label}, inbox {inbox:,}")
    finally:
        sandbox.stop()
    return found


@contextmanager
def _working_directory(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    here = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(here)


@contextmanager
def _broker(bootstrap: str | None) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    from deploy.local import start_ephemeral

    kafka = start_ephemeral()
    try:
        yield kafka.bootstrap_servers
    finally:
        kafka.down(wipe=True)


@app.command()
def main(
    quick: Annotated[bool, typer.Option(help="One kill, fewer inbox entries.")] = False,
    section: Annotated[str, typer.Option(help="failover, recovery or both.")] = "both",
    entries: Annotated[int | None, typer.Option(help="Inbox entries to recover.")] = None,
    repeats: Annotated[int | None, typer.Option(help="Kills (default: 1 quick, 3 otherwise).")] = None,
    after: Annotated[float, typer.Option(help="Seconds of traffic after the kill.")] = 20.0,
    bootstrap_servers: Annotated[
        str | None, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Use this broker.")
    ] = None,
    workdir: Annotated[Path | None, typer.Option(help="Worker logs (default: a temp dir).")] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="Also run the workers from this source tree first (before/after).")
    ] = None,
    stores: Annotated[
        str, typer.Option(help="Table stores to fail over with, comma-separated.")
    ] = "memory,rocksdb",
    inbox: Annotated[int, typer.Option(help="Inbox entries in the tables when the kill comes.")] = 20_000,
) -> None:
    """Measure and print the P4 figures."""
    root = workdir or Path(tempfile.mkdtemp(prefix="relay-failover-"))
    root.mkdir(parents=True, exist_ok=True)
    typer.echo(f"workdir={root} cpus={os.cpu_count()} {_load()}")
    found: list[Figure] = []
    with _broker(bootstrap_servers) as bootstrap:
        if section in ("failover", "both"):
            repeats = repeats or (1 if quick else 3)
            cases = [Case("before", tree=baseline)] if baseline else []
            cases += [Case(f"{store} store", store=store) for store in stores.split(",") if store]
            found += _run_all(bootstrap, root, cases, repeats=repeats, after_s=after, inbox=inbox)
        if section in ("recovery", "both"):
            found += _recoveries(bootstrap, root, entries or (20_000 if quick else 100_000))
    typer.echo(render_summary(found))


if __name__ == "__main__":
    app()
