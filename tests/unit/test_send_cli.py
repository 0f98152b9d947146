"""``pms-relay send``: name parsing, payload errors that name the field, rendering, exit codes (fake client)."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from adapters.errors import ErrorCode
from cli import send as send_cli
from cli.send import (
    PayloadError,
    error_json,
    kebab,
    parse_command_name,
    parse_payload,
    render_error,
    render_result,
    result_json,
)
from client.relay import CommandFailed, ConflictError, RelayUnavailable, ReplyTimeout, command_failed
from schemas.envelopes import (
    AppointmentList,
    CommandEnvelope,
    CommandType,
    ListLocationsPayload,
    ResultEnvelope,
    SearchPatientsPayload,
)
from tests.fixtures.schemas.samples import COMMAND_PAYLOADS, ERRORS, result

runner = CliRunner()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SearchPatients", CommandType.SEARCH_PATIENTS),
        ("search-patients", CommandType.SEARCH_PATIENTS),
        ("search_patients", CommandType.SEARCH_PATIENTS),
        ("SEARCH_PATIENTS", CommandType.SEARCH_PATIENTS),
        ("searchpatients", CommandType.SEARCH_PATIENTS),
        ("list-operatories", CommandType.LIST_OPERATORIES),
        ("validate_connection", CommandType.VALIDATE_CONNECTION),
        ("UpdateAppointment", CommandType.UPDATE_APPOINTMENT),
    ],
)
def test_command_names(text: str, expected: CommandType) -> None:
    assert parse_command_name(text) is expected


@pytest.mark.parametrize("text", ["", "search", "search-patient", "delete-patient"])
def test_unknown_command_names_list_the_known_ones(text: str) -> None:
    with pytest.raises(ValueError, match="search-patients"):
        parse_command_name(text)


@pytest.mark.parametrize("command_type", list(CommandType))
def test_kebab_names_parse_back(command_type: CommandType) -> None:
    assert parse_command_name(kebab(command_type)) is command_type


@pytest.mark.parametrize("command_type", list(CommandType))
def test_every_sample_payload_parses_from_its_json(command_type: CommandType) -> None:
    payload = COMMAND_PAYLOADS[command_type]
    assert parse_payload(command_type, payload.model_dump_json()) == payload


@pytest.mark.parametrize("text", [None, "", "  ", "{}"])
def test_empty_payloads(text: str | None) -> None:
    assert parse_payload(CommandType.LIST_LOCATIONS, text) == ListLocationsPayload()


@pytest.mark.parametrize(
    ("command_type", "text", "named"),
    [
        pytest.param(CommandType.SEARCH_PATIENTS, "{}", "query", id="missing-field"),
        pytest.param(
            CommandType.SEARCH_PATIENTS,
            '{"query": {"limit": 0, "last_name": "x"}}',
            "query.limit",
            id="range",
        ),
        pytest.param(
            CommandType.SEARCH_PATIENTS, '{"query": {"lastname": "x"}}', "query.lastname", id="unknown-field"
        ),
        pytest.param(
            CommandType.CREATE_PATIENT,
            '{"patient": {"first_name": "A", "last_name": "B", "date_of_birth": "31/01/1990"}}',
            "patient.date_of_birth",
            id="bad-date",
        ),
        pytest.param(
            CommandType.LIST_APPOINTMENTS,
            '{"range": {"start": "2025-03-04T00:00:00", "end": "2025-03-05T00:00:00Z"}}',
            "range.start",
            id="naive-datetime",
        ),
        pytest.param(CommandType.UPDATE_PATIENT, '{"updates": {}}', "patient_id", id="missing-id"),
        pytest.param(
            CommandType.UPDATE_APPOINTMENT,
            '{"appointment_id": "A-1", "updates": {"status": "GONE"}}',
            "updates.status",
            id="bad-enum",
        ),
        pytest.param(CommandType.LIST_LOCATIONS, '{"location_id": "L-1"}', "location_id", id="extra"),
    ],
)
def test_invalid_payloads_name_the_field(command_type: CommandType, text: str, named: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_payload(command_type, text)
    assert f"  {named}:" in str(caught.value)
    assert "example:" in str(caught.value)


def test_invalid_payload_errors_do_not_echo_the_input() -> None:
    text = '{"patient": {"first_name": "Zelda", "last_name": "Q", "date_of_birth": "secret-dob"}}'
    with pytest.raises(PayloadError) as caught:
        parse_payload(CommandType.CREATE_PATIENT, text)
    assert "secret-dob" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"query": {"last_name": "x",}}', "line 1, column 29"),
        ('{\n  "query": {\n    "last_name": x\n  }\n}', "line 3, column 18"),
        ("[1, 2]", "JSON object"),
        ('"text"', "JSON object"),
    ],
)
def test_bad_json_says_where(text: str, where: str) -> None:
    with pytest.raises(PayloadError, match=where):
        parse_payload(CommandType.SEARCH_PATIENTS, text)


def _printed(renderable: Any) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize("command_type", list(CommandType))
def test_every_result_type_renders(command_type: CommandType) -> None:
    answer = result(command_type)
    text = _printed(render_result(answer))
    assert command_type.value in text
    assert json.loads(result_json(answer))["command_type"] == command_type.value


def test_a_list_renders_as_a_table_of_its_items() -> None:
    text = _printed(render_result(result(CommandType.SEARCH_PATIENTS)))
    for shown in ("P-1", "P-2", "555-0100 (mobile)"):
        assert shown in text


def test_an_empty_list_says_so() -> None:
    empty = result(CommandType.LIST_APPOINTMENTS).model_copy(
        update={"payload": AppointmentList(appointments=())}
    )
    assert "no appointments" in _printed(render_result(empty))


def test_errors_render_with_their_code() -> None:
    exc = command_failed(ERRORS["full"])
    text = _printed(render_error(exc))
    for shown in ("CONFLICT", "operatory O-1 already booked", "http 409"):
        assert shown in text
    assert json.loads(error_json(exc))["error"]["code"] == "CONFLICT"


# -- the command line, with a fake client ----------------------------------------------------------------------


class _FakeClient:
    """Stands in for PMSRelayClient: records what was sent and answers with ``outcome``."""

    outcome: ResultEnvelope | BaseException | None = None
    sent: list[tuple[CommandEnvelope, bool]] = []

    def __init__(self, bootstrap_servers: str, **kwargs: Any) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.kwargs = kwargs

    async def __aenter__(self) -> _FakeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def send(self, command: CommandEnvelope, *, wait: bool = True) -> Any:
        type(self).sent.append((command, wait))
        if not wait:
            return command.command_id
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        assert self.outcome is not None
        return self.outcome.model_copy(update={"command_id": command.command_id})


@pytest.fixture
def fake_client(monkeypatch: pytest.MonkeyPatch) -> type[_FakeClient]:
    _FakeClient.sent = []
    _FakeClient.outcome = result(CommandType.SEARCH_PATIENTS)
    monkeypatch.setattr(send_cli, "PMSRelayClient", _FakeClient)
    return _FakeClient


def _invoke(*args: str, stdin: str | None = None) -> Any:
    return runner.invoke(send_cli.app, list(args), input=stdin)


@pytest.mark.parametrize("name", ["SearchPatients", "search-patients", "search_patients"])
def test_send_prints_the_result(fake_client: type[_FakeClient], name: str) -> None:
    outcome = _invoke(name, "--practice", "p-1", "--json", '{"query": {"last_name": "McTestface"}}')
    assert outcome.exit_code == 0, outcome.output
    assert "P-1" in outcome.output
    command, wait = fake_client.sent[0]
    assert (command.practice_id, wait, command.expires_at) == ("p-1", True, None)
    assert command.payload == SearchPatientsPayload.model_validate({"query": {"last_name": "McTestface"}})


def test_send_json_output(fake_client: type[_FakeClient]) -> None:
    outcome = _invoke(
        "search-patients", "-p", "p-1", "--json", '{"query": {"last_name": "x"}}', "--json-output"
    )
    assert outcome.exit_code == 0
    assert json.loads(outcome.output)["payload"]["patients"][0]["id"] == "P-1"


def test_send_reads_the_payload_from_stdin_and_sets_the_deadline(fake_client: type[_FakeClient]) -> None:
    outcome = _invoke(
        "search-patients", "-p", "p", "--file", "-", "--deadline", "5", stdin='{"query": {"phone": "1"}}'
    )
    assert outcome.exit_code == 0, outcome.output
    command, _ = fake_client.sent[0]
    assert command.expires_at is not None
    assert (command.expires_at - command.issued_at).total_seconds() == 5


def test_send_reads_the_payload_from_a_file(fake_client: type[_FakeClient], tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"location_id": "L-1"}')
    outcome = _invoke("list-operatories", "-p", "p", "--file", str(path))
    assert outcome.exit_code == 0, outcome.output
    assert fake_client.sent[0][0].command_type is CommandType.LIST_OPERATORIES


def test_no_wait_prints_the_command_id(fake_client: type[_FakeClient]) -> None:
    command_id = uuid.uuid4()
    outcome = _invoke("list-locations", "-p", "p", "--no-wait", "--command-id", str(command_id))
    assert outcome.exit_code == 0
    assert outcome.output.strip() == str(command_id)
    assert fake_client.sent[0][1] is False


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        pytest.param(["search-patients", "-p", "p", "--json", "{"], None, "line 1", id="bad-json"),
        pytest.param(["search-patients", "-p", "p", "--json", "{}"], None, "query", id="missing-field"),
        pytest.param(["search-patients", "-p", "p", "--file", "-"], '{"query": 1}', "query", id="stdin"),
        pytest.param(
            ["list-locations", "-p", "p", "--file", "/nonexistent.json"], None, "cannot read", id="no-file"
        ),
        pytest.param(
            ["list-locations", "-p", "p", "--json", "{}", "--file", "x"], None, "not both", id="both"
        ),
        pytest.param(["list-locations", "-p", "p", "--command-id", "nope"], None, "not a UUID", id="bad-id"),
    ],
)
def test_bad_input_exits_2(
    fake_client: type[_FakeClient], args: list[str], stdin: str | None, says: str
) -> None:
    outcome = _invoke(*args, stdin=stdin)
    assert outcome.exit_code == 2
    assert says in outcome.output
    assert fake_client.sent == []


def test_unknown_command_exits_2() -> None:
    outcome = _invoke("delete-patient", "-p", "p")
    assert outcome.exit_code == 2


@pytest.mark.parametrize(
    ("outcome", "exit_code", "says"),
    [
        pytest.param(
            ConflictError(ErrorCode.CONFLICT, "operatory O-1 already booked", http_status=409),
            1,
            "CONFLICT",
            id="error-answer",
        ),
        pytest.param(ReplyTimeout(uuid.UUID(int=7), 1.0), 3, "pms-relay worker", id="timeout"),
        pytest.param(
            RelayUnavailable("topic pms.commands does not exist"), 2, "does not exist", id="no-topic"
        ),
    ],
)
def test_failures_exit_codes(
    fake_client: type[_FakeClient], outcome: BaseException, exit_code: int, says: str
) -> None:
    fake_client.outcome = outcome
    result_ = _invoke("list-locations", "-p", "p")
    assert result_.exit_code == exit_code
    assert says in result_.output


def test_error_answer_as_json(fake_client: type[_FakeClient]) -> None:
    fake_client.outcome = CommandFailed(ErrorCode.INTERNAL, "boom", command_id=uuid.UUID(int=1))
    outcome = _invoke("list-locations", "-p", "p", "--json-output")
    assert outcome.exit_code == 1
    assert json.loads(outcome.output)["error"]["code"] == "INTERNAL"
