"""The consumer-group and table-store settings the worker hands Faust (fail-over and recovery depend on them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streams.registry import parse_registry
from topology import TableStore, WorkerSettings, _faust_app, build


def test_a_dead_worker_is_noticed_at_the_brokers_minimum_session_timeout() -> None:
    conf = _faust_app(WorkerSettings()).conf
    # group.min.session.timeout.ms is 6 s on a broker left at its defaults: a lower value is refused.
    assert conf.broker_session_timeout == 6.0
    # Heartbeats are how the survivors learn of the rebalance: several per session, as Kafka advises.
    assert conf.broker_heartbeat_interval <= conf.broker_session_timeout / 3
    assert conf.broker_request_timeout >= conf.broker_session_timeout  # Faust refuses it otherwise


def test_the_memory_store_keeps_no_standby_replicas() -> None:
    conf = _faust_app(WorkerSettings()).conf
    assert str(conf.store) == "memory:"
    assert conf.table_standby_replicas == 0


def test_rocksdb_keeps_its_tables_in_the_data_dir_with_a_standby(tmp_path: Path) -> None:
    conf = _faust_app(WorkerSettings(store=TableStore.ROCKSDB, data_dir=tmp_path / "data")).conf
    assert str(conf.store) == "rocksdb:"
    assert conf.table_standby_replicas == 1
    assert Path(conf.datadir) == tmp_path / "data"


@pytest.mark.parametrize("session", [6.0, 10.0, 30.0])
def test_the_heartbeat_follows_the_session_timeout(session: float) -> None:
    conf = _faust_app(WorkerSettings(session_timeout_seconds=session)).conf
    assert conf.broker_session_timeout == session
    assert conf.broker_heartbeat_interval == pytest.approx(session / 6)


def _stores(tmp_path: Path, store: TableStore) -> dict[str, Any]:
    registry = parse_registry({"practices": {}}, environ={}, base_dir=tmp_path)
    topology = build(WorkerSettings(store=store, data_dir=tmp_path / "data"), registry)
    return {table.name: table.data for table in topology.app.tables.values()}


def test_every_rocksdb_table_is_bounded_in_memory(tmp_path: Path) -> None:
    # Faust's own sizes (64 MiB x 3 write buffers, a 2 GiB cache) are per table partition: unbounded in a pod.
    stores = _stores(tmp_path, TableStore.ROCKSDB)
    assert {"inbox", "subjects", "circuits"} <= set(stores)
    for name, store in stores.items():
        options = store.rocksdb_options
        assert options.write_buffer_size * options.max_write_buffer_number <= 8 * 1024**2, name
        assert options.block_cache_size <= 8 * 1024**2, name


def test_the_memory_store_takes_no_rocksdb_options(tmp_path: Path) -> None:
    for store in _stores(tmp_path, TableStore.MEMORY).values():
        assert not hasattr(store, "rocksdb_options")
