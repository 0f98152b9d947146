"""One running system of the performance run: fresh topics, the collector, and either relay workers over the
in-process instant PMS (``deploy/bench/instant_worker.py``) or the bare Faust agent (``bare_agent.py``).

It is started once and warmed up, then runs as many bursts as a section asks for, so repeats and side-by-side
comparisons cost no start-up. Each burst says what was sent, when each answer arrived, and the workers' CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from deploy.bench.cpu import cpu_seconds, rss_bytes
from deploy.bench.instant import KNOWN, LATENCY_ENV, Latencies
from deploy.bench.load import Planned, build_commands, plan
from deploy.bench.rig import Rig
from deploy.bench.stats import CaseResult, summarize

__all__ = ["Burst", "InstantSystem", "Setup", "practice_ids"]

_SECRET_ENV = "BENCH_INSTANT_SECRET"


def practice_ids(count: int, prefix: str = "p") -> list[str]:
    return [f"{prefix}{i:05d}" for i in range(count)]


@dataclass(frozen=True)
class Setup:
    practices: int = 8
    slots: int = 16  # max_concurrent of each practice
    partitions: int = 6
    workers: int = 1
    latency: Latencies = field(default_factory=Latencies)
    bare: bool = False  # the bare Faust agent instead of relay workers
    worker_args: tuple[str, ...] = ()
    extra_practices: tuple[str, ...] = ()  # practices beyond the numbered ones (e.g. a slow one)
    extra_slots: int = 1  # max_concurrent of each extra practice

    def describe(self) -> str:
        who = "bare Faust agent" if self.bare else f"{self.workers} worker(s)"
        return f"{who}, {self.practices} practices, {self.partitions} partitions"


@dataclass(frozen=True)
class Burst:
    planned: dict[str, Planned]  # command id -> what it was
    sent_at: dict[str, float]
    answered_at: dict[str, float]
    result: CaseResult
    worker_cpu_s: float

    def seconds(self, keep: Callable[[Planned], bool] = lambda _p: True) -> list[float]:
        """Send-to-answer seconds of the answered commands that ``keep`` selects."""
        return [
            self.answered_at[cid] - sent
            for cid, sent in self.sent_at.items()
            if cid in self.answered_at and keep(self.planned[cid])
        ]

    @property
    def cpu_ms_per_command(self) -> float:
        answered = self.result.answered
        return self.worker_cpu_s / answered * 1000 if answered else float("nan")


def _registry(setup: Setup) -> dict[str, Any]:
    connection = {
        "base_url": "http://127.0.0.1:9",  # never called: the instant PMS answers in process
        "organization_id": "0" * 24,
        "client_id": "bench",
        "client_secret": {"env": _SECRET_ENV},
    }
    entry = {"pms": "dentrix", "time_zone": KNOWN.dst_location_zone, "connection": connection}
    practices = {pid: entry for pid in practice_ids(setup.practices)}
    practices |= {pid: {**entry, "max_concurrent": setup.extra_slots} for pid in setup.extra_practices}
    return {
        "defaults": {"dentrix": {"rate_per_second": 100000.0, "max_concurrent": setup.slots}},
        "practices": practices,
    }


class InstantSystem:
    def __init__(self, setup: Setup, bootstrap: str, workdir: Path) -> None:
        self.setup = setup
        self.rig = Rig(
            bootstrap=bootstrap,
            workdir=workdir,
            registry=_registry(setup),
            env={_SECRET_ENV: "bench", LATENCY_ENV: setup.latency.to_json()},
            partitions=setup.partitions,
            worker_args=setup.worker_args,
            entry=("-m", "deploy.bench.instant_worker"),
        )

    def __enter__(self) -> InstantSystem:
        self.rig.start(self.setup.workers, bare=self.setup.bare)
        ids = practice_ids(self.setup.practices) + list(self.setup.extra_practices)
        warmup = build_commands(plan(2 * len(ids), ids), KNOWN)
        if not self.rig.wait_answers(list(self.rig.send(warmup)), timeout=120):
            raise RuntimeError(f"the warm-up was not answered; see {self.rig.workdir}")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.rig.stop()

    @property
    def pids(self) -> list[int]:
        return self.rig.worker_pids

    def rss(self) -> int:
        """Resident bytes of the workers together."""
        return sum(rss_bytes(pid) or 0 for pid in self.pids)

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) or 0.0 for pid in self.pids)

    def burst(
        self,
        count: int,
        *,
        practices: Sequence[str] | None = None,
        write_share: float = 0.0,
        rate: float = 0.0,
        timeout: float = 300.0,
        name: str = "burst",
        wait_for: Callable[[Planned], bool] | None = None,
    ) -> Burst:
        """Send ``count`` commands (at ``rate`` per second; 0: at once) and wait for every answer (or those
        that ``wait_for`` selects)."""
        ids = list(practices) if practices is not None else practice_ids(self.setup.practices)
        planned = plan(count, ids, write_share)
        commands = build_commands(planned, KNOWN)
        by_id = {str(c.command_id): p for c, p in zip(commands, planned, strict=True)}
        before = self.cpu()
        started = time.monotonic()
        sent_at = self.rig.send(commands, rate=rate)
        awaited = [cid for cid in sent_at if wait_for is None or wait_for(by_id[cid])]
        self.rig.wait_answers(awaited, timeout=timeout)
        window = time.monotonic() - started
        used = self.cpu() - before
        answered = {cid: self.rig.arrived[cid] for cid in sent_at if cid in self.rig.arrived}
        result = summarize(
            name,
            workers=self.setup.workers,
            latency_ms=self.setup.latency.default * 1000,
            sent_at=sent_at,
            answered_at=answered,
            errors=len(self.rig.errors & set(sent_at)),
            cpu_s={"worker": used},
            cpu_window_s=window,
        )
        return Burst(by_id, sent_at, answered, result, used)
