"""Memory: the worker's resident set (RSS) idle and after large bursts, and what each practice costs.

- Growth: a relay worker over the instant PMS, RSS after start and warm-up, after a burst of 100,000 reads
  (10,000 in quick mode) and after a second, smaller burst: a worker that keeps nothing per command stays flat.
- Per practice: the real worker (``pms-relay worker``) with N Dentrix practices on the Dentrix sandbox; RSS
  before any practice was used (adapters are made on first use) and after one read each (an HTTP client, a
  token, the static cache per practice). The difference over N is the per-practice cost; 10,000 practices
  are extrapolated from it.
"""

from __future__ import annotations

import time

from deploy.bench.cpu import rss_bytes
from deploy.bench.figures import Figure
from deploy.bench.instant_system import InstantSystem, Setup, practice_ids
from deploy.bench.load import build_commands, plan
from deploy.bench.rig import Rig
from deploy.bench.run import Context, loadavg
from deploy.bench.sandbox import SandboxProcess

__all__ = ["SECTION", "figures", "growth_figures", "per_practice_figures"]

SECTION = "Memory"
_MIB = 2**20
_GIB = 2**30


def growth_figures(idle: int, after: int, again: int, first: int, second: int) -> list[Figure]:
    return [
        Figure(SECTION, "worker RSS idle (MiB)", f"{idle / _MIB:.0f}", detail="instant PMS, after warm-up"),
        Figure(SECTION, f"worker RSS after {first:,} commands (MiB)", f"{after / _MIB:.0f}"),
        Figure(
            SECTION,
            f"worker RSS after {second:,} more (MiB)",
            f"{again / _MIB:.0f}",
            goal="no growth without bound",
            met=again <= after * 1.05,
            detail=f"{(again - after) / _MIB:+.1f} MiB over the second burst",
        ),
    ]


def per_practice_figures(before: int, after: int, practices: int, target: int = 10_000) -> list[Figure]:
    per = (after - before) / practices
    projected = before + per * target
    return [
        Figure(
            SECTION,
            "RSS per practice, Dentrix adapter (MiB)",
            f"{per / _MIB:.2f}",
            detail=f"measured over {practices:,} practices: {before / _MIB:.0f} -> {after / _MIB:.0f} MiB",
        ),
        Figure(
            SECTION,
            f"{target:,} practices on one worker (GiB)",
            f"{projected / _GIB:.2f}",
            goal="<= 1 GiB",
            met=projected <= _GIB,
            detail=f"extrapolated from {practices:,} measured",
        ),
    ]


def _growth(ctx: Context) -> list[Figure]:
    first, second = ctx.pick(10_000, 100_000), ctx.pick(5_000, 20_000)
    with InstantSystem(Setup(), ctx.bootstrap, ctx.dir("memory-growth")) as system:
        idle = system.rss()
        system.burst(first, write_share=0.2, timeout=900)
        after = system.rss()
        system.burst(second, write_share=0.2, timeout=600)
        again = system.rss()
    return growth_figures(idle, after, again, first, second)


def _per_practice(ctx: Context) -> list[Figure]:
    count = ctx.pick(200, 1000)
    workdir = ctx.dir("memory-practices")
    sandbox = SandboxProcess(workdir).start()
    try:
        connection, secret = sandbox.connection()
        ids = practice_ids(count)
        zone = sandbox.known.dst_location_zone
        registry = {
            "practices": {pid: {"pms": "dentrix", "time_zone": zone, "connection": connection} for pid in ids}
        }
        rig = Rig(ctx.bootstrap, workdir, registry, env={"BENCH_DENTRIX_SECRET": secret})
        rig.start(1)
        try:
            time.sleep(2)
            before = rss_bytes(rig.worker_pids[0]) or 0
            warm = rig.send(build_commands(plan(count, ids), sandbox.known))
            if not rig.wait_answers(list(warm), timeout=300):
                ctx.notes.append(f"memory: only {rig.answered(list(warm))}/{count} practices answered")
            after = rss_bytes(rig.worker_pids[0]) or 0
        finally:
            rig.stop()
    finally:
        sandbox.stop()
    return per_practice_figures(before, after, count)


def figures(ctx: Context) -> list[Figure]:
    rows = _growth(ctx) + _per_practice(ctx)
    return [*rows, Figure(SECTION, "load", loadavg())]
