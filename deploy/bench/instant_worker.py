"""A relay worker whose practices all answer from an in-process instant PMS (``deploy/bench/instant.py``).

The same wiring as ``pms-relay worker`` (``topology.build``), with the adapter factory swapped: what the bench
measures is the relay's own per-command cost, Kafka, Faust and asyncio included, HTTP excluded. It takes the
options the bench's rig passes (``deploy/bench/rig.py``); PMS latencies come from ``$BENCH_PMS_LATENCY``.

    python -m deploy.bench.instant_worker --config practices.yaml --bootstrap-servers HOST:PORT --prefix P. ...
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["GC_LOG_ENV", "main"]

GC_LOG_ENV = "BENCH_GC_LOG_MS"  # log each garbage collection longer than this many ms (latency hunts)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="instant_worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--app-id", default="pms-relay")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--retry-delays", default="10,60,600")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--max-in-flight", type=int, default=2048)
    parser.add_argument("--practice-backlog", type=int, default=128)
    parser.add_argument("--status-interval", type=float, default=5.0)
    parser.add_argument("--metrics", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--store", choices=["memory", "rocksdb"], default="memory")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    import faust

    from deploy.bench.instant import LATENCY_ENV, Latencies, instant_factory
    from streams.kafka_settings import KafkaSettings
    from streams.logs import configure_logging
    from streams.registry import load_registry
    from streams.retry import RetryTiers
    from streams.topics import TopicNames
    from topology import TableStore, WorkerSettings, build

    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    tiers = RetryTiers(tuple(float(part) for part in args.retry_delays.split(",") if part.strip()))
    settings = WorkerSettings(
        kafka=KafkaSettings.from_env(bootstrap_servers=args.bootstrap_servers),
        app_id=args.app_id,
        topics=TopicNames(prefix=args.prefix, tiers=tiers),
        partitions=args.partitions,
        max_in_flight=args.max_in_flight,
        practice_backlog=args.practice_backlog,
        metrics=args.metrics,
        status_interval_seconds=args.status_interval,
        data_dir=args.data_dir,
        store=TableStore(args.store),
    )
    latencies = Latencies.from_json(os.environ.get(LATENCY_ENV))
    topology = build(settings, load_registry(args.config), adapter_factory=instant_factory(latencies))
    logging.getLogger(__name__).info("instant worker starting pid=%s", os.getpid())
    if os.environ.get(GC_LOG_ENV):
        _log_collections(float(os.environ[GC_LOG_ENV]))
    worker = faust.Worker(topology.app, quiet=True, override_logging=False)
    worker.spinner = None
    worker.execute_from_commandline()


def _log_collections(longer_than_ms: float) -> None:
    import gc
    import time

    log = logging.getLogger("bench.gc")
    started: list[float] = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        ms = (time.perf_counter() - started[0]) * 1000
        if ms >= longer_than_ms:
            log.info("gc generation=%d ms=%.1f collected=%d", info["generation"], ms, info["collected"])

    gc.callbacks.append(timed)


if __name__ == "__main__":
    main()
