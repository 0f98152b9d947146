"""Replication on a real local 3-node KRaft cluster: a broker stopped (or killed) and restarted in the middle
of a burst of writes loses nothing and writes nothing twice.

- ``pms-relay topics create --replication-factor 3`` lays every topic on three brokers with
  ``min.insync.replicas=2``;
- a burst from a producer configured as the platform client's (acks=all, idempotent) while the leader of a
  partition is stopped cleanly, or SIGKILLed, then started again: every record is acknowledged, and reading
  the topic back gives each record exactly once;
- a real worker relaying writes to the Dentrix sandbox through the cluster while a broker restarts: every
  command one result, every write in the PMS once.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from deploy.local.cluster import LocalCluster, start_cluster
from schemas.envelopes import CommandType, ResultEnvelope
from streams.kafka_settings import KafkaSettings
from tests.commands import command, payload_for
from tests.contract.dentrix_harness import DentrixHarness
from tests.relay_system import RelaySystem, wait_until

pytestmark = pytest.mark.integration

RECORDS = 2000


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    started = start_cluster(3)
    yield started
    started.down(wipe=True)


@pytest.fixture(scope="module")
def kafka(cluster: LocalCluster) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=cluster.bootstrap_servers)


@pytest.fixture(scope="module")
def topic(cluster: LocalCluster) -> str:
    """The contract's topics made by the CLI, as an operator would: three replicas each."""
    prefix = f"rep{uuid.uuid4().hex[:6]}."
    done = subprocess.run(
        [sys.executable, "-m", "cli", "topics", "create", "--bootstrap-servers", cluster.bootstrap_servers,
         "--prefix", prefix, "--partitions", "3", "--replication-factor", "3"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return f"{prefix}pms.commands"


def test_topics_are_replicated_three_ways_with_min_insync_two(kafka: KafkaSettings, topic: str) -> None:
    admin = AdminClient(kafka.confluent())
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    assert len(partitions) == 3
    assert all(len(p.replicas) == 3 for p in partitions.values())
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    config = admin.describe_configs([resource])[resource].result(10)
    assert config["min.insync.replicas"].value == "2"


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_a_broker_down_mid_burst_loses_nothing_and_doubles_nothing(
    cluster: LocalCluster, kafka: KafkaSettings, topic: str, how: str
) -> None:
    run = uuid.uuid4().hex[:8]
    victim = _leader_index(kafka, topic, partition=0)
    burst = _Burst(kafka, topic, run)
    burst.start()
    wait_until(lambda: burst.acked >= RECORDS // 4, timeout=60, what="a quarter of the burst acknowledged")
    (cluster.kill_node if how == "kill" else cluster.stop_node)(victim)
    acked_while_down = burst.acked
    wait_until(lambda: burst.sent >= 3 * RECORDS // 4, timeout=60, what="the burst going on without a broker")
    wait_until(
        lambda: burst.acked > acked_while_down + 100, timeout=90, what="writes acknowledged while down"
    )
    cluster.start_node(victim)
    burst.join(timeout=120)
    assert not burst.is_alive()
    assert burst.failures == [], burst.failures[:5]
    assert burst.acked == RECORDS
    _wait_in_sync(kafka, topic)
    seen = Counter(_read_all(kafka, topic, run))
    missing = [i for i in range(RECORDS) if seen[str(i)] == 0]
    doubled = {value: n for value, n in seen.items() if n > 1}
    assert (missing, doubled, sum(seen.values())) == ([], {}, RECORDS)


def test_a_relay_on_the_cluster_writes_once_while_a_broker_restarts(
    cluster: LocalCluster, kafka: KafkaSettings, tmp_path: Path
) -> None:
    dentrix = DentrixHarness()
    dentrix.start()
    connection = dentrix.connection()
    practice = {"pms": "dentrix", "time_zone": dentrix.known.dst_location_zone,
                "connection": {**connection, "client_secret": {"env": "REP_DX_SECRET"}}}  # fmt: skip
    system = RelaySystem(
        bootstrap=cluster.bootstrap_servers,
        workdir=tmp_path,
        practices={"dx": practice},
        secrets={"REP_DX_SECRET": str(connection["client_secret"])},
    )
    try:
        system.start()
        writes = [command("dx", CommandType.CREATE_PATIENT, payload_for(CommandType.CREATE_PATIENT, dentrix.known))
                  for _ in range(30)]  # fmt: skip
        for cmd in writes[:10]:
            system.send(cmd)
        wait_until(lambda: _answered(system, writes) >= 3, timeout=60, what="first answers")
        victim = _leader_index(kafka, system.topics.commands, partition=0)
        cluster.kill_node(victim)
        for cmd in writes[10:20]:
            system.send(cmd)
        cluster.start_node(victim)
        for cmd in writes[20:]:
            system.send(cmd)
        system.wait_for([str(c.command_id) for c in writes], timeout=150)
        problems = []
        for cmd in writes:
            answers = system.answers[str(cmd.command_id)]
            distinct = {a.envelope.model_dump_json() for a in answers}
            stored = dentrix.count_by_reference(str(cmd.command_id))
            if (
                not all(isinstance(a.envelope, ResultEnvelope) for a in answers)
                or len(distinct) != 1
                or stored != 1
            ):
                problems.append(
                    f"{cmd.command_id}: {len(answers)} answers ({len(distinct)} distinct), stored {stored}"
                )
        assert not problems, "\n".join(problems + system.worker_log().splitlines()[-30:])
    finally:
        system.stop()
        dentrix.stop()


# -- helpers ---------------------------------------------------------------------------------------------------


class _Burst(threading.Thread):
    """``RECORDS`` records, spread over every partition, produced as the platform client produces."""

    def __init__(self, kafka: KafkaSettings, topic: str, run: str) -> None:
        super().__init__(daemon=True)
        self.topic, self.tag = topic, run
        self.producer = Producer(
            kafka.confluent(
                acks="all",
                partitioner="murmur2_random",
                **{"enable.idempotence": True, "linger.ms": 5, "message.timeout.ms": 120_000},
            )
        )
        self.sent = self.acked = 0
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def run(self) -> None:
        for i in range(RECORDS):
            key = f"practice-{i % 17}".encode()
            self.producer.produce(
                self.topic,
                key=key,
                value=str(i).encode(),
                headers=[("run", self.tag.encode())],
                on_delivery=self._acked,
            )
            self.sent += 1
            self.producer.poll(0)
            time.sleep(0.005)  # a burst that lasts long enough to span a broker's stop and restart
        self.producer.flush(120)

    def _acked(self, error: KafkaError | None, _message: Any) -> None:
        with self._lock:
            if error is None:
                self.acked += 1
            else:
                self.failures.append(error.str())


def _answered(system: RelaySystem, writes: list[Any]) -> int:
    return sum(bool(system.answers.get(str(c.command_id))) for c in writes)


def _leader_index(kafka: KafkaSettings, topic: str, partition: int) -> int:
    """The cluster node (0-based) that leads ``topic[partition]``: the one whose loss the clients feel."""
    metadata = AdminClient(kafka.confluent()).list_topics(topic, timeout=10)
    return int(metadata.topics[topic].partitions[partition].leader) - 1


def _wait_in_sync(kafka: KafkaSettings, topic: str) -> None:
    """Until the restarted broker has caught up: every partition's ISR holds all three replicas again."""
    admin = AdminClient(kafka.confluent())

    def caught_up() -> bool:
        partitions = admin.list_topics(topic, timeout=5).topics[topic].partitions.values()
        return all(len(p.isrs) == 3 for p in partitions)

    wait_until(caught_up, timeout=90, what="every replica back in sync")


def _read_all(kafka: KafkaSettings, topic: str, run: str) -> list[str]:
    """Every value of this run on ``topic``, from each partition's start to its end."""
    consumer = Consumer(
        kafka.confluent(**{"group.id": f"rep-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False})
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions
        }
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        values: list[str] = []
        positions = dict.fromkeys(partitions, 0)
        deadline = time.monotonic() + 60
        while any(positions[p] < ends[p] for p in partitions) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            positions[message.partition()] = message.offset() + 1
            if (message.headers() or [("", b"")])[0] == ("run", run.encode()):
                values.append(message.value().decode())
        assert all(positions[p] >= ends[p] for p in partitions), (positions, ends)
        return values
    finally:
        consumer.close()
