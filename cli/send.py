"""``pms-relay send <command> --practice P --json '{...}'``: one command through Kafka, its answer on screen.

JSON in, Avro on the wire (through :class:`client.relay.PMSRelayClient`), the answer printed with rich or,
with ``--json-output``, as JSON. Exit codes: 0 result, 1 error answer, 2 bad input or no cluster, 3 timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from adapters.domain import Phone
from cli.options import BootstrapServers, TopicPrefix
from client.relay import (
    CommandFailed,
    PMSRelayClient,
    RelayUnavailable,
    ReplyTimeout,
    build_command,
)
from schemas.envelopes import (
    PAYLOAD_TYPES,
    AppointmentList,
    CommandPayload,
    CommandType,
    LocationList,
    OperatoryList,
    PatientList,
    ResultEnvelope,
)
from streams.kafka_settings import KafkaSettings, KafkaSettingsError

__all__ = [
    "PayloadError",
    "app",
    "error_json",
    "kebab",
    "parse_command_name",
    "parse_payload",
    "render_error",
    "render_result",
    "result_json",
]

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_TIMEOUT = 1, 2, 3

_EXAMPLES: dict[CommandType, str] = {
    CommandType.SEARCH_PATIENTS: '{"query": {"last_name": "Smith", "limit": 10}}',
    CommandType.CREATE_PATIENT: '{"patient": {"first_name": "A", "last_name": "B", "date_of_birth": "1990-01-31"}}',
    CommandType.UPDATE_PATIENT: '{"patient_id": "P-1", "updates": {"email": "a@example.invalid"}}',
    CommandType.LIST_APPOINTMENTS: (
        '{"location_id": "L-1", "range": {"start": "2025-03-04T00:00:00Z", "end": "2025-03-05T00:00:00Z"}}'
    ),
    CommandType.CREATE_APPOINTMENT: (
        '{"appointment": {"patient_id": "P-1", "location_id": "L-1", "operatory_id": "O-1", '
        '"start": "2025-03-04T15:00:00Z", "end": "2025-03-04T15:30:00Z"}}'
    ),
    CommandType.UPDATE_APPOINTMENT: '{"appointment_id": "A-1", "updates": {"status": "CANCELLED"}}',
    CommandType.LIST_LOCATIONS: "{}",
    CommandType.LIST_OPERATORIES: '{"location_id": "L-1"}  (or {} for all locations)',
    CommandType.VALIDATE_CONNECTION: "{}",
}


# -- pure parts ------------------------------------------------------------------------------------------------


def parse_command_name(text: str) -> CommandType:
    """``SearchPatients``, ``search-patients``, ``search_patients`` (any case) -> the command type."""
    wanted = text.replace("-", "").replace("_", "").lower()
    for command_type in CommandType:
        if command_type.value.lower() == wanted:
            return command_type
    names = ", ".join(kebab(c) for c in CommandType)
    raise ValueError(f"unknown command {text!r}; one of: {names}")


def kebab(command_type: CommandType) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in command_type.value).lstrip("-")


class PayloadError(ValueError):
    """The payload JSON is unreadable or invalid; the message names the place (line/column or field)."""


def parse_payload(command_type: CommandType, text: str | None) -> CommandPayload:
    """The payload model of ``command_type`` from JSON text (empty or None: ``{}``)."""
    try:
        data = json.loads(text) if text and text.strip() else {}
    except json.JSONDecodeError as exc:
        raise PayloadError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise PayloadError(f"the payload must be a JSON object, got {type(data).__name__}")
    try:
        payload: CommandPayload = PAYLOAD_TYPES[command_type].model_validate(data)  # type: ignore[assignment]
    except ValidationError as exc:
        raise PayloadError(_describe(exc, command_type)) from None
    return payload


def _describe(exc: ValidationError, command_type: CommandType) -> str:
    # loc and msg only: pydantic's input echo would repeat what may be patient data.
    lines = [f"invalid {command_type.value} payload:"]
    for error in exc.errors():
        place = ".".join(str(part) for part in error["loc"]) or "(payload)"
        lines.append(f"  {place}: {error['msg']}")
    lines.append(f"example: {_EXAMPLES[command_type]}")
    return "\n".join(lines)


_LISTS: dict[type[BaseModel], str] = {
    PatientList: "patients",
    AppointmentList: "appointments",
    LocationList: "locations",
    OperatoryList: "operatories",
}


def render_result(result: ResultEnvelope) -> RenderableType:
    """A table for a list answer, a key/value panel for a single record."""
    title = (
        f"{result.command_type.value} · {result.practice_id} · {result.pms} · "
        f"{result.attempts} attempt(s) · {result.duration_ms} ms"
    )
    field = _LISTS.get(type(result.payload))
    if field is None:
        return Panel(_record(result.payload), title=title, title_align="left")
    items: tuple[BaseModel, ...] = getattr(result.payload, field)
    if not items:
        return Panel(Text(f"no {field}", style="yellow"), title=title, title_align="left")
    return _table(items, title)


def _table(items: tuple[BaseModel, ...], title: str) -> Table:
    columns = [name for name in type(items[0]).model_fields if any(getattr(i, name) for i in items)]
    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(name)
    for item in items:
        table.add_row(*(_cell(getattr(item, name)) for name in columns))
    return table


def _record(model: BaseModel) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan")
    grid.add_column()
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value is not None and value != ():
            grid.add_row(name, _cell(value))
    return grid


def _cell(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Phone):
        return f"{value.number} ({value.type.value.lower()})"
    if isinstance(value, BaseModel):
        return ", ".join(_cell(v) for v in value.__dict__.values() if v is not None)
    if isinstance(value, tuple | list):
        return "; ".join(_cell(v) for v in value)
    return "" if value is None else str(value)


def render_error(exc: CommandFailed) -> RenderableType:
    text = Text()
    text.append(exc.code.value, style="bold red")
    text.append(f" {exc.message}")
    details = [
        "retryable" if exc.retryable else "not retryable",
        *([f"http {exc.http_status}"] if exc.http_status is not None else []),
        f"{exc.attempts} attempt(s)",
        *([f"command {exc.command_id}"] if exc.command_id is not None else []),
    ]
    text.append(f"\n{' · '.join(details)}", style="dim")
    return text


def result_json(result: ResultEnvelope) -> str:
    return result.model_dump_json(indent=2)


def error_json(exc: CommandFailed) -> str:
    error = {
        "code": exc.code.value,
        "message": exc.message,
        "retryable": exc.retryable,
        "http_status": exc.http_status,
        "attempts": exc.attempts,
        "command_id": str(exc.command_id) if exc.command_id is not None else None,
    }
    return json.dumps({"error": error}, indent=2)


# -- the command line ------------------------------------------------------------------------------------------


class _CommandNames(TyperGroup):
    """Accepts every spelling :func:`parse_command_name` does; the commands are registered kebab-case."""

    # Any: typer vendors its own click, whose types are private.
    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        with contextlib.suppress(ValueError):  # unknown: click reports "No such command"
            cmd_name = kebab(parse_command_name(cmd_name))
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=_CommandNames,
    help="Send one command through Kafka and print its answer (needs a running worker).",
    no_args_is_help=True,
)


@dataclass(frozen=True)
class _Request:
    practice: str
    payload_text: str | None
    bootstrap_servers: str
    prefix: str
    timeout: float
    deadline: float | None
    wait: bool
    json_output: bool
    command_id: uuid.UUID | None


def _read_payload(json_text: str | None, file: str | None) -> str | None:
    if json_text is not None and file is not None:
        raise PayloadError("give the payload with --json or --file, not both")
    if file is None:
        return json_text
    if file == "-":
        return sys.stdin.read()
    try:
        return Path(file).read_text()
    except OSError as exc:
        raise PayloadError(f"cannot read {file}: {exc.strerror}") from None


def _command_id(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        raise PayloadError(f"--command-id {text!r} is not a UUID") from None


async def _send(command_type: CommandType, request: _Request, console: Console, out: Console) -> int:
    payload = parse_payload(command_type, request.payload_text)
    command = build_command(
        request.practice, payload, command_id=request.command_id, deadline=request.deadline
    )
    kafka = KafkaSettings.from_env(bootstrap_servers=request.bootstrap_servers)
    client = PMSRelayClient(kafka, prefix=request.prefix, timeout=request.timeout)
    async with client:
        if not request.wait:
            sent = await client.send(command, wait=False)
            typer.echo(json.dumps({"command_id": str(sent)}) if request.json_output else str(sent))
            return 0
        try:
            result = await client.send(command)
        except CommandFailed as exc:
            if request.json_output:
                typer.echo(error_json(exc))
            else:
                console.print(render_error(exc))
            return EXIT_FAILED
    if request.json_output:
        typer.echo(result_json(result))  # plain: rich would read [...] as markup
    else:
        out.print(render_result(result))
    return 0


def _run(command_type: CommandType, request: _Request) -> None:
    # librdkafka would log every failed connection attempt; the one error below says it all.
    logging.getLogger("client.relay.librdkafka").setLevel(logging.CRITICAL)
    console = Console(stderr=True)
    out = Console(highlight=False)
    try:
        code = asyncio.run(_send(command_type, request, console, out))
    except (PayloadError, KafkaSettingsError) as exc:
        console.print(Text(str(exc), style="red"))
        code = EXIT_BAD_INPUT
    except ReplyTimeout as exc:
        console.print(
            f"[yellow]no answer within {exc.timeout:g}s[/] to command {exc.command_id}.\n"
            "Is a worker running on these topics (`pms-relay worker ...`)? The command may still be "
            f"processed: resend it with --command-id {exc.command_id} to avoid doing it twice.",
            highlight=False,
        )
        code = EXIT_TIMEOUT
    except RelayUnavailable as exc:
        console.print(Text(f"{exc} (bootstrap servers: {request.bootstrap_servers})", style="red"))
        code = EXIT_BAD_INPUT
    raise typer.Exit(code)


def _register(command_type: CommandType) -> None:
    def send(
        practice: Annotated[str, typer.Option("--practice", "-p", help="Practice id (the message key).")],
        json_text: Annotated[
            str | None, typer.Option("--json", help="The payload as JSON (default {}).")
        ] = None,
        file: Annotated[
            str | None, typer.Option("--file", "-f", help="Read the payload JSON from a file; '-' for stdin.")
        ] = None,
        bootstrap_servers: BootstrapServers = "localhost:9092",
        prefix: TopicPrefix = "",
        timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for the answer.")] = 30.0,
        deadline: Annotated[
            float | None, typer.Option(min=0.1, help="Seconds the command stays valid (sets expires_at).")
        ] = None,
        no_wait: Annotated[bool, typer.Option("--no-wait", help="Print the command id once sent.")] = False,
        json_output: Annotated[bool, typer.Option("--json-output", help="Print the answer as JSON.")] = False,
        command_id: Annotated[
            str | None, typer.Option(help="Reuse a command id (resend after a timeout).")
        ] = None,
    ) -> None:
        console = Console(stderr=True)
        try:
            request = _Request(
                practice=practice,
                payload_text=_read_payload(json_text, file),
                bootstrap_servers=bootstrap_servers,
                prefix=prefix,
                timeout=timeout,
                deadline=deadline,
                wait=not no_wait,
                json_output=json_output,
                command_id=_command_id(command_id),
            )
        except PayloadError as exc:
            console.print(Text(str(exc), style="red"))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        _run(command_type, request)

    send.__doc__ = f"Send {command_type.value}. Payload example: {_EXAMPLES[command_type]}"
    app.command(name=kebab(command_type))(send)


for _command_type in CommandType:
    _register(_command_type)
