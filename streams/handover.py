"""Handing work over: what a worker does before it lets go of partitions (a rebalance) or stops.

Before Faust forgets revoked partitions: retry copies waiting in the due gates are released, jobs that have
not started are cancelled, running ones may finish (within ``revoke_wait``) and are cancelled after that; the
commit point is taken only then (by :class:`streams.commits.LedgerConsumer`). Everything unfinished stays
uncommitted, so the next owner, maybe this worker again, reads it again.
"""

from __future__ import annotations

import asyncio
import logging
import time

from faust.types import TP

from streams.adapter_pool import AdapterPool
from streams.due_gates import DueGates
from streams.scheduler import Scheduler

__all__ = ["Handover"]

_log = logging.getLogger(__name__)


class Handover:
    def __init__(
        self,
        *,
        gates: DueGates,
        scheduler: Scheduler,
        adapters: AdapterPool,
        revoke_wait: float,
        shutdown_wait: float,
    ) -> None:
        self._gates = gates
        self._scheduler = scheduler
        self._adapters = adapters
        self._revoke_wait = revoke_wait
        self._shutdown_wait = shutdown_wait

    async def before_revoke(self, revoked: set[TP]) -> None:
        _log.info("partitions revoked partitions=%s running=%s", _tp_list(revoked), self._scheduler.in_flight)
        began = time.monotonic()
        await self._gates.release(revoked)
        abandoned = await self._scheduler.revoke(revoked, wait=self._revoke_wait)
        _log.info("partitions handed over waited_s=%.2f cancelled=%s", time.monotonic() - began, abandoned)
        if abandoned:
            _log.warning(
                "revoked with commands still running partitions=%s cancelled=%s; they will be redelivered",
                _tp_list(revoked),
                abandoned,
            )

    async def shutdown(self) -> None:
        await self._gates.release(None)
        try:
            async with asyncio.timeout(self._shutdown_wait):
                await self._scheduler.drain()
        except TimeoutError:
            _log.warning(
                "shutdown with %s commands unfinished; they will be redelivered", self._scheduler.in_flight
            )
        await self._adapters.close()


def _tp_list(tps: set[TP]) -> str:
    return ",".join(f"{tp.topic}:{tp.partition}" for tp in sorted(tps))
