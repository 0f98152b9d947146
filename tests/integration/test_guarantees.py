"""The core guarantees under the failures that broke them: a slow head command with a SIGKILL, and a
rebalance while copies wait in a retry tier behind an open circuit. Real broker, sandboxes, worker processes.

Each test reads its evidence from outside the workers: the group's committed offsets from the broker, every
answer from the answer topics, every write from the sandbox's own read-out.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from schemas.envelopes import CommandEnvelope, CommandType, ResultEnvelope
from tests.commands import command, payload_for
from tests.contract.dentrix_harness import DentrixHarness
from tests.contract.eaglesoft_harness import EaglesoftHarness
from tests.contract.harness import Fault, FaultKind
from tests.integration.test_relay_e2e import (  # the module's sandboxes and registry, shared
    _describe,
    _no_faults,
    _practices,
    dentrix,
    eaglesoft,
)
from tests.relay_system import RelaySystem, wait_until

pytestmark = pytest.mark.integration

__all__ = ["_no_faults", "dentrix", "eaglesoft"]  # fixtures, imported to be used here


def _located(system: RelaySystem, cmd: CommandEnvelope) -> tuple[int, int]:
    """Send ``cmd`` as the platform would and return the partition and offset it landed at."""
    where: list[tuple[int, int]] = []
    producer = Producer({"bootstrap.servers": system.bootstrap, "partitioner": "murmur2_random"})
    message = system.codec.encode_command(cmd)
    producer.produce(
        system.topics.commands,
        key=message.key,
        value=message.value,
        headers=message.headers,
        on_delivery=lambda err, msg: where.append((msg.partition(), msg.offset())) if err is None else None,
    )
    producer.flush(10)
    assert where, "the command was not delivered"
    return where[0]


def _committed(system: RelaySystem, partition: int) -> int | None:
    """The workers' group's committed offset for ``partition`` of pms.commands (None: nothing committed)."""
    reader = Consumer({"bootstrap.servers": system.bootstrap, "group.id": system.app_id})
    try:
        [tp] = reader.committed([TopicPartition(system.topics.commands, partition)], timeout=10)
        return tp.offset if tp.offset >= 0 else None
    finally:
        reader.close()


def _one_answer_each(system: RelaySystem, commands: list[CommandEnvelope]) -> list[str]:
    """Problems: commands with no answer, or with more than one distinct answer event (ce_id)."""
    problems = []
    for cmd in commands:
        answers = system.answers.get(str(cmd.command_id), [])
        ids = {dict(a.headers).get("ce_id") for a in answers}
        if len(ids) != 1:
            problems.append(
                f"{cmd.command_id} {cmd.command_type.value}: {len(ids)} distinct answers "
                f"{[_describe(a.envelope) for a in answers]}"
            )
    return problems


def _notable(system: RelaySystem, workers: int) -> list[str]:
    return [
        line
        for index in range(workers)
        for line in system.worker_log(index).splitlines()
        if "WARNING" in line or "ERROR" in line or "revoked" in line or "reconcil" in line
    ][-40:]


def test_a_slow_head_is_never_committed_past_and_is_answered_once_after_a_sigkill(
    kafka_bootstrap: str, tmp_path: Path, dentrix: DentrixHarness, eaglesoft: EaglesoftHarness
) -> None:
    practices, secrets = _practices(dentrix, eaglesoft)
    # The grace must cover the held call: the sandbox applies the write 10 s after it was sent.
    system = RelaySystem(
        bootstrap=kafka_bootstrap,
        workdir=tmp_path,
        practices=practices,
        secrets=secrets,
        partitions=3,
        reconcile_grace=20.0,
    ).start()
    try:
        # The sandbox holds the next patient write for 10 s, then applies it.
        dentrix._admin_json(
            "POST",
            "/_admin/faults",
            json={"rules": [{"kind": "hang", "method": "POST", "path": "/patients", "count": 1, "seconds": 10, "then": "answer"}]},
        )  # fmt: skip
        slow = command(
            "dx", CommandType.CREATE_PATIENT, payload_for(CommandType.CREATE_PATIENT, dentrix.known)
        )
        partition, offset = _located(system, slow)
        later = [command("dx", CommandType.LIST_LOCATIONS, {}) for _ in range(8)]
        for cmd in later:
            system.send(cmd)
        system.wait_for([str(c.command_id) for c in later], timeout=60)

        # Proof that the commit loop ran after the later commands finished: another partition's commit moves.
        markers = [_located(system, command(p, CommandType.LIST_LOCATIONS, {})) for p in ("es", "dx-tough")]
        elsewhere = [(p, o) for p, o in markers if p != partition]
        if elsewhere:
            marker_partition, marker_offset = elsewhere[0]
            wait_until(
                lambda: (_committed(system, marker_partition) or 0) > marker_offset,
                timeout=30,
                what="the commit loop to commit another partition",
            )
        assert str(slow.command_id) not in system.answers, "the held call ended before the test could kill it"
        committed = _committed(system, partition)
        assert committed is None or committed <= offset, (
            f"committed {committed} past the unfinished command at offset {offset}"
        )

        system.kill_worker(sig=signal.SIGKILL)  # mid-call: the sandbox still holds the write
        system.start_worker()
        system.wait_for([str(slow.command_id)], timeout=120)

        answer = system.answers[str(slow.command_id)][0].envelope
        assert isinstance(answer, ResultEnvelope), _describe(answer)
        assert dentrix.count_by_reference(str(slow.command_id)) == 1
        problems = _one_answer_each(system, [slow, *later])
        assert not problems, "\n".join(problems + _notable(system, 2))
    finally:
        system.stop()


def test_a_rebalance_while_copies_wait_behind_an_open_circuit_handles_every_copy(
    kafka_bootstrap: str, tmp_path: Path, dentrix: DentrixHarness, eaglesoft: EaglesoftHarness
) -> None:
    practices, secrets = _practices(dentrix, eaglesoft)
    system = RelaySystem(
        bootstrap=kafka_bootstrap, workdir=tmp_path, practices=practices, secrets=secrets, partitions=3
    ).start()
    try:
        dentrix.set_faults(Fault(FaultKind.SERVER_ERROR))
        search = payload_for(CommandType.SEARCH_PATIENTS, dentrix.known)
        tripping = [command("dx", CommandType.SEARCH_PATIENTS, search) for _ in range(3)]
        for cmd in tripping:
            system.send(cmd)
        wait_until(
            lambda: any(b'"to": "open"' in a for a in system.alerts), timeout=30, what="an open circuit"
        )
        # Rejected while open: each waits ~12 s (the reset timeout) in a retry tier.
        waiting = [command("dx", CommandType.LIST_LOCATIONS, {}) for _ in range(40)]
        others = [command("es", CommandType.LIST_LOCATIONS, {}) for _ in range(10)]
        for cmd in [*waiting, *others]:
            system.send(cmd)

        system.start_worker()  # joins: a rebalance while the copies wait
        system.wait_for([str(c.command_id) for c in others], timeout=60)
        system.kill_worker(index=1, sig=signal.SIGTERM)  # leaves: another rebalance
        dentrix.set_faults()

        everything = [*tripping, *waiting, *others]
        try:
            system.wait_for([str(c.command_id) for c in everything], timeout=180)
        except AssertionError as timeout:
            missing = [str(c.command_id) for c in everything if str(c.command_id) not in system.answers]
            raise AssertionError(
                f"{len(missing)} never answered: {missing[:10]}\n" + "\n".join(_notable(system, 2))
            ) from timeout
        problems = _one_answer_each(system, everything)
        assert not problems, "\n".join(problems + _notable(system, 2))
        assert all(isinstance(system.answers[str(c.command_id)][0].envelope, ResultEnvelope) for c in waiting)
    finally:
        system.stop()
