"""pms-relay end to end: real broker, both sandboxes over HTTP, real worker processes.

One system (topics, registry, worker) serves the module; tests that restart or kill workers build their own.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.domain import Appointment
from adapters.errors import ErrorCode
from schemas.envelopes import CommandEnvelope, CommandType, ErrorEnvelope, ResultEnvelope
from tests.commands import command, free_slot, payload_for
from tests.contract.dentrix_harness import DentrixHarness
from tests.contract.eaglesoft_harness import EaglesoftHarness
from tests.contract.harness import Fault, FaultKind, Resource, SandboxHarness
from tests.relay_system import RelaySystem, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dentrix() -> Iterator[DentrixHarness]:
    harness = DentrixHarness()
    harness.start()
    yield harness
    harness.stop()


@pytest.fixture(scope="module")
def eaglesoft() -> Iterator[EaglesoftHarness]:
    harness = EaglesoftHarness()
    harness.start()
    yield harness
    harness.stop()


@pytest.fixture(autouse=True)
def _no_faults(dentrix: DentrixHarness, eaglesoft: EaglesoftHarness) -> Iterator[None]:
    dentrix.set_faults()
    eaglesoft.set_faults()
    yield
    dentrix.set_faults()
    eaglesoft.set_faults()


def _practices(dentrix: DentrixHarness, eaglesoft: EaglesoftHarness) -> tuple[dict[str, Any], dict[str, str]]:
    secrets: dict[str, str] = {}

    def by_reference(
        practice_id: str, connection: dict[str, Any], secret_fields: tuple[str, ...]
    ) -> dict[str, Any]:
        referenced = dict(connection)
        for name in secret_fields:
            variable = f"E2E_{practice_id.replace('-', '_').upper()}_{name.upper()}"
            secrets[variable] = str(connection[name])
            referenced[name] = {"env": variable}
        return referenced

    dx = by_reference("dx", dentrix.connection(), ("client_secret",))
    es = by_reference("es", eaglesoft.connection(), ("integration_key", "password"))
    practices = {
        "dx": {"pms": "dentrix", "time_zone": dentrix.known.dst_location_zone, "connection": dx,
               "circuit": {"fail_max": 3, "reset_timeout_seconds": 12}},
        "dx-tough": {"pms": "dentrix", "time_zone": dentrix.known.dst_location_zone, "connection": dx,
                     "circuit": {"fail_max": 100, "reset_timeout_seconds": 4}},
        "es": {"pms": "eaglesoft", "time_zone": eaglesoft.known.dst_location_zone, "connection": es},
    }  # fmt: skip
    return practices, secrets


def _system(
    kafka_bootstrap: str, tmp: Path, dentrix: DentrixHarness, eaglesoft: EaglesoftHarness
) -> RelaySystem:
    practices, secrets = _practices(dentrix, eaglesoft)
    return RelaySystem(bootstrap=kafka_bootstrap, workdir=tmp, practices=practices, secrets=secrets)


@pytest.fixture(scope="module")
def relay(
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
    dentrix: DentrixHarness,
    eaglesoft: EaglesoftHarness,
) -> Iterator[RelaySystem]:
    system = _system(kafka_bootstrap, tmp_path_factory.mktemp("relay"), dentrix, eaglesoft).start()
    yield system
    system.stop()


def _harness(practice_id: str, dentrix: DentrixHarness, eaglesoft: EaglesoftHarness) -> SandboxHarness:
    return eaglesoft if practice_id == "es" else dentrix


def _result(relay: RelaySystem, cmd: CommandEnvelope, timeout: float = 60) -> ResultEnvelope:
    answer = relay.wait_for([relay.send(cmd)], timeout)[str(cmd.command_id)].envelope
    assert isinstance(answer, ResultEnvelope), f"expected a result, got {_describe(answer)}"
    return answer


def _error(relay: RelaySystem, cmd: CommandEnvelope, timeout: float = 60) -> ErrorEnvelope:
    answer = relay.wait_for([relay.send(cmd)], timeout)[str(cmd.command_id)].envelope
    assert isinstance(answer, ErrorEnvelope), f"expected an error, got {_describe(answer)}"
    return answer


@pytest.mark.parametrize("practice_id", ["dx", "es"])
@pytest.mark.parametrize("command_type", list(CommandType))
def test_every_command_type_end_to_end(
    relay: RelaySystem,
    dentrix: DentrixHarness,
    eaglesoft: EaglesoftHarness,
    practice_id: str,
    command_type: CommandType,
) -> None:
    known = _harness(practice_id, dentrix, eaglesoft).known
    appointment_id = None
    if command_type is CommandType.UPDATE_APPOINTMENT:
        created = _result(
            relay,
            command(
                practice_id,
                CommandType.CREATE_APPOINTMENT,
                payload_for(CommandType.CREATE_APPOINTMENT, known),
            ),
        )
        assert isinstance(created.payload, Appointment)
        appointment_id = created.payload.id
    cmd = command(practice_id, command_type, payload_for(command_type, known, appointment_id=appointment_id))
    result = _result(relay, cmd)
    assert result.command_type is command_type
    assert result.practice_id == practice_id
    assert result.attempts == 1
    correlation = dict(relay.answers[str(cmd.command_id)][0].headers)["ce_correlationid"]
    assert correlation == str(cmd.command_id).encode()


def test_transient_failure_retries_through_tiers_and_succeeds(
    relay: RelaySystem, dentrix: DentrixHarness
) -> None:
    # Each stream attempt makes up to 3 in-call tries: 6 failures burn two attempts, the third succeeds.
    dentrix.set_faults(Fault(FaultKind.SERVER_ERROR, resource=Resource.PATIENTS, count=6))
    cmd = command(
        "dx-tough", CommandType.SEARCH_PATIENTS, payload_for(CommandType.SEARCH_PATIENTS, dentrix.known)
    )
    sent = datetime.now(UTC)
    result = _result(relay, cmd)
    assert result.attempts == 3
    # Never before due: tiers 0 and 1 wait 1 s and 2 s.
    assert result.completed_at - sent >= timedelta(seconds=3)


def test_permanent_failure_is_answered_at_once(relay: RelaySystem) -> None:
    start, end = free_slot()
    cmd = command(
        "dx",
        CommandType.UPDATE_APPOINTMENT,
        {"appointment_id": "999999999", "updates": {"start": start.isoformat(), "end": end.isoformat()}},
    )
    error = _error(relay, cmd)
    assert error.code is ErrorCode.NOT_FOUND
    assert error.attempts == 1
    assert not error.retryable


def test_exhausted_retries_dead_letter_with_an_error_event(
    relay: RelaySystem, dentrix: DentrixHarness
) -> None:
    dentrix.set_faults(Fault(FaultKind.SERVER_ERROR, resource=Resource.PATIENTS))
    cmd = command(
        "dx-tough", CommandType.SEARCH_PATIENTS, payload_for(CommandType.SEARCH_PATIENTS, dentrix.known)
    )
    error = _error(relay, cmd)
    assert error.code is ErrorCode.UNAVAILABLE
    assert error.attempts == 4
    wait_until(lambda: any(value == relay.codec.encode_command(cmd).value for value, _ in relay.dead_letters),
               timeout=10, what="the dead-letter copy")  # fmt: skip
    headers = dict(
        next(h for value, h in relay.dead_letters if value == relay.codec.encode_command(cmd).value)
    )
    assert headers["pms-error-code"] == b"UNAVAILABLE"
    assert headers["pms-attempts"] == b"4"
    assert headers["pms-origin-topic"] == relay.topics.commands.encode()


def test_same_command_delivered_twice_writes_once(relay: RelaySystem, dentrix: DentrixHarness) -> None:
    cmd = command(
        "dx", CommandType.CREATE_APPOINTMENT, payload_for(CommandType.CREATE_APPOINTMENT, dentrix.known)
    )
    relay.send(cmd)
    relay.send(cmd)
    wait_until(lambda: len(relay.answers.get(str(cmd.command_id), [])) >= 2, timeout=60, what="two answers")
    first, second = relay.answers[str(cmd.command_id)][:2]
    assert first.envelope == second.envelope  # the stored answer, replayed
    assert dentrix.count_by_reference(str(cmd.command_id)) == 1


def test_garbage_and_invalid_commands_get_errors_and_dead_letters_while_valid_ones_succeed(
    relay: RelaySystem,
) -> None:
    before = command("dx", CommandType.LIST_LOCATIONS, {})
    after = command("dx", CommandType.VALIDATE_CONNECTION, {})
    start, _ = free_slot()
    relay.send(before)
    relay.send_raw(b"\x00garbage", key=b"dx")
    relay.send_raw(b"\xc3\x01" + b"\x00" * 8 + b"x", key=b"dx")  # unknown fingerprint
    bad = relay.codec.encode_command(
        command(
            "dx",
            CommandType.LIST_APPOINTMENTS,
            {
                "location_id": "1",
                "range": {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()},
            },
        )
    )
    relay.send_raw(_reverse_range(bad.value, start), key=b"dx", headers=bad.headers)
    relay.send(after)
    relay.wait_for([str(before.command_id), str(after.command_id)])
    assert isinstance(relay.answers[str(before.command_id)][0].envelope, ResultEnvelope)
    assert isinstance(relay.answers[str(after.command_id)][0].envelope, ResultEnvelope)
    wait_until(lambda: len(_validation_errors(relay)) >= 3, timeout=30, what="three VALIDATION errors")
    assert len(relay.dead_letters) >= 3


def test_command_past_its_deadline_is_answered_without_a_pms_call(
    relay: RelaySystem, dentrix: DentrixHarness
) -> None:
    now = datetime.now(UTC)
    cmd = command(
        "dx",
        CommandType.LIST_LOCATIONS,
        {},
        issued_at=now - timedelta(seconds=10),
        expires_at=now - timedelta(seconds=5),
    )
    dentrix.clear_requests()
    error = _error(relay, cmd)
    assert error.code is ErrorCode.DEADLINE_EXCEEDED
    assert dentrix.requests() == []


def test_updates_of_one_appointment_apply_in_order_across_a_retry(
    relay: RelaySystem, dentrix: DentrixHarness
) -> None:
    known = dentrix.known
    created = _result(
        relay,
        command("dx", CommandType.CREATE_APPOINTMENT, payload_for(CommandType.CREATE_APPOINTMENT, known)),
    )
    assert isinstance(created.payload, Appointment)
    # Two moves inside the slot the booking owns (slots are 45 minutes apart), so neither can conflict.
    day = created.payload.start.replace(hour=0, minute=0)
    ten, eleven = created.payload.start + timedelta(minutes=5), created.payload.start + timedelta(minutes=10)
    move = lambda at: {"appointment_id": created.payload.id,  # noqa: E731
                       "updates": {"start": at.isoformat(), "end": (at + timedelta(minutes=30)).isoformat()}}  # fmt: skip
    first = command("dx", CommandType.UPDATE_APPOINTMENT, move(ten))
    second = command("dx", CommandType.UPDATE_APPOINTMENT, move(eleven))
    # The first move's write fails in all three in-call tries, so it goes to a retry tier.
    dentrix.set_faults(
        Fault(FaultKind.SERVER_ERROR, resource=Resource.APPOINTMENTS, writes_only=True, count=3)
    )
    relay.send(first)
    relay.send(second)
    answers = relay.wait_for([str(first.command_id), str(second.command_id)])
    final = answers[str(second.command_id)].envelope
    assert isinstance(final, ResultEnvelope)
    assert isinstance(answers[str(first.command_id)].envelope, ResultEnvelope)
    assert answers[str(first.command_id)].envelope.attempts == 2
    assert final.completed_at >= answers[str(first.command_id)].envelope.completed_at
    listed = _result(
        relay,
        command(
            "dx",
            CommandType.LIST_APPOINTMENTS,
            {
                "location_id": known.dst_location_id,
                "range": {
                    "start": day.isoformat(),
                    "end": (day + timedelta(days=1)).isoformat(),
                },
            },
        ),
    )
    moved = [a for a in listed.payload.appointments if a.id == created.payload.id]  # type: ignore[union-attr]
    assert [a.start for a in moved] == [eleven]


def test_circuit_opens_rejects_without_calls_survives_restart_then_closes(
    kafka_bootstrap: str, tmp_path: Path, dentrix: DentrixHarness, eaglesoft: EaglesoftHarness
) -> None:
    system = _system(kafka_bootstrap, tmp_path, dentrix, eaglesoft).start()
    try:
        dentrix.set_faults(Fault(FaultKind.SERVER_ERROR, resource=Resource.PATIENTS))
        search = payload_for(CommandType.SEARCH_PATIENTS, dentrix.known)
        tripping = [command("dx", CommandType.SEARCH_PATIENTS, search) for _ in range(3)]
        for cmd in tripping:
            system.send(cmd)
        wait_until(
            lambda: any(b'"to": "open"' in a for a in system.alerts), timeout=30, what="an 'open' alert"
        )
        # Open: a new command is held without reaching the PMS, even after a restart of the worker.
        system.kill_worker(sig=signal.SIGTERM)
        system.start_worker()
        dentrix.clear_requests()
        probe = command("dx", CommandType.VALIDATE_CONNECTION, {})
        system.send(probe)
        time.sleep(1.5)  # still inside the 12 s open window: nothing may reach the sandbox
        assert [r for r in dentrix.requests() if r.resource is not Resource.AUTH] == []
        dentrix.set_faults()
        answers = system.wait_for([str(probe.command_id), *(str(c.command_id) for c in tripping)], timeout=90)
        assert isinstance(answers[str(probe.command_id)].envelope, ResultEnvelope)
        assert answers[str(probe.command_id)].envelope.attempts == 1  # rejections burnt no attempt
        wait_until(
            lambda: any(b'"to": "closed"' in a for a in system.alerts), timeout=30, what="a 'closed' alert"
        )
        assert any(b'"to": "half-open"' in a for a in system.alerts)
    finally:
        system.stop()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_worker_stopped_mid_burst_every_command_one_outcome_every_write_once(
    kafka_bootstrap: str, tmp_path: Path, dentrix: DentrixHarness, eaglesoft: EaglesoftHarness, sig: int
) -> None:
    system = _system(kafka_bootstrap, tmp_path, dentrix, eaglesoft).start()
    try:
        writes = [command(p, CommandType.CREATE_APPOINTMENT, payload_for(CommandType.CREATE_APPOINTMENT, _harness(p, dentrix, eaglesoft).known))
                  for p in ("dx", "es") for _ in range(15)]  # fmt: skip
        for cmd in writes:
            system.send(cmd)
        wait_until(
            lambda: sum(bool(system.answers.get(str(c.command_id))) for c in writes) >= 5,
            timeout=60,
            what="some answers",
        )
        system.kill_worker(sig=sig)
        system.start_worker()
        system.wait_for([str(c.command_id) for c in writes], timeout=120)
        problems = []
        for cmd in writes:
            got = [_describe(a.envelope) for a in system.answers[str(cmd.command_id)]]
            stored = _harness(cmd.practice_id, dentrix, eaglesoft).count_by_reference(str(cmd.command_id))
            if any(not g.startswith("result") for g in got) or stored != 1:
                problems.append(f"{cmd.practice_id} {cmd.command_id}: answers {got}, stored {stored}")
        notable = [line for i in (0, 1) for line in system.worker_log(i).splitlines()
                   if "WARNING" in line or "ERROR" in line or "reconcil" in line]  # fmt: skip
        assert not problems, "\n".join(problems + notable[-40:])
    finally:
        system.stop()


def _describe(envelope: ResultEnvelope | ErrorEnvelope) -> str:
    if isinstance(envelope, ErrorEnvelope):
        return f"error {envelope.code.value} attempts={envelope.attempts}: {envelope.message}"
    return f"result {envelope.command_type.value} attempts={envelope.attempts}"


def _transitions(system: RelaySystem) -> list[str]:
    return [json.loads(alert)["to"] for alert in system.alerts]


def _validation_errors(relay: RelaySystem) -> list[ErrorEnvelope]:
    found = []
    for answers in list(relay.answers.values()):
        for answer in answers:
            if isinstance(answer.envelope, ErrorEnvelope) and answer.envelope.code is ErrorCode.VALIDATION:
                found.append(answer.envelope)
    return found


def _reverse_range(value: bytes, start: datetime) -> bytes:
    """The encoded command with its range's end moved before its start: schema-valid, semantically invalid."""
    import io

    from fastavro import schemaless_reader, schemaless_writer

    from schemas import default_catalog

    writer = default_catalog().current("Command")
    body = io.BytesIO(value[10:])
    record = schemaless_reader(body, writer.parsed, return_record_name=True)
    name, payload = record["payload"]
    payload["range"]["end"] = start - timedelta(hours=1)
    record["payload"] = (name, payload)
    out = io.BytesIO()
    schemaless_writer(out, writer.parsed, record)
    return value[:10] + out.getvalue()


@pytest.mark.parametrize("command_type", list(CommandType))
def test_pms_relay_send_round_trips_every_command_type(
    relay: RelaySystem, dentrix: DentrixHarness, command_type: CommandType
) -> None:
    appointment_id = None
    if command_type is CommandType.UPDATE_APPOINTMENT:
        booking = payload_for(CommandType.CREATE_APPOINTMENT, dentrix.known)
        created = _result(relay, command("dx", CommandType.CREATE_APPOINTMENT, booking))
        assert isinstance(created.payload, Appointment)
        appointment_id = created.payload.id
    payload = payload_for(command_type, dentrix.known, appointment_id=appointment_id)
    name = re.sub(r"(?<!^)(?=[A-Z])", "-", command_type.value).lower()  # SearchPatients -> search-patients
    args = [sys.executable, "-m", "cli", "send", name, "--practice", "dx", "--json", json.dumps(payload),
            "--bootstrap-servers", relay.bootstrap, "--prefix", relay.topics.prefix, "--json-output"]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert answer["command_type"] == command_type.value
    assert answer["practice_id"] == "dx"


def test_config_check_connects_to_every_practice(relay: RelaySystem) -> None:
    args = [sys.executable, "-m", "cli", "config", "check", "-c", str(relay.registry_path), "--connect"]
    env = {**os.environ, **relay.secrets, "COLUMNS": "200"}
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("writable") == len(relay.practices)
    for secret in relay.secrets.values():
        assert secret not in done.stdout


def test_config_check_names_the_practice_and_field_of_an_error(relay: RelaySystem, tmp_path: Path) -> None:
    broken = {name: dict(entry) for name, entry in relay.practices.items()}
    broken["dx"] = {**broken["dx"], "connection": {**broken["dx"]["connection"], "client_secret": "inline!"}}
    path = tmp_path / "practices.yaml"
    path.write_text(yaml.safe_dump({"practices": broken}), encoding="utf-8")
    env = {**os.environ, **relay.secrets, "COLUMNS": "200"}
    args = [sys.executable, "-m", "cli", "config", "check", "-c", str(path)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 2
    assert "practices.dx.connection.client_secret" in done.stdout
    assert "inline!" not in done.stdout


def test_a_dead_letter_listed_and_redriven_after_the_fault_is_fixed_gets_a_result(
    relay: RelaySystem, dentrix: DentrixHarness
) -> None:
    dentrix.set_faults(Fault(FaultKind.SERVER_ERROR, resource=Resource.PATIENTS))
    cmd = command(
        "dx-tough", CommandType.SEARCH_PATIENTS, payload_for(CommandType.SEARCH_PATIENTS, dentrix.known)
    )
    assert _error(relay, cmd).code is ErrorCode.UNAVAILABLE
    dentrix.set_faults()
    where = ["--bootstrap-servers", relay.bootstrap, "--prefix", relay.topics.prefix]
    env = {**os.environ, "COLUMNS": "250"}

    listed = subprocess.run([sys.executable, "-m", "cli", "dlq", "list", *where],
                            capture_output=True, text=True, timeout=60, env=env, check=False)  # fmt: skip
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert str(cmd.command_id) in listed.stdout
    assert dentrix.known.patient_last_name not in listed.stdout  # headers only, never the value

    redriven = subprocess.run(
        [sys.executable, "-m", "cli", "dlq", "redrive", "--command-id", str(cmd.command_id), *where],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert redriven.returncode == 0, redriven.stdout + redriven.stderr
    assert "redrove 1 commands" in redriven.stdout
    wait_until(lambda: len(relay.answers[str(cmd.command_id)]) >= 2, timeout=60, what="the redriven answer")
    answer = relay.answers[str(cmd.command_id)][1].envelope
    assert isinstance(answer, ResultEnvelope), _describe(answer)
    assert answer.attempts == 1
