"""The compiled encoder writes fastavro's bytes: for every envelope and payload type, awkward values, and
every release's writer schema, the body is compared byte for byte with fastavro's writer fed the dicts the
codec used to build (``model_dump``, tuples made lists, the payload in tuple notation)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer
from pydantic import BaseModel

from adapters.domain import Appointment, AppointmentStatus, ConnectionStatus
from adapters.errors import ErrorCode
from schemas import default_catalog, load_history
from schemas.codec import Codec, _record
from schemas.encoder import UnsupportedSchema, compile_writer
from schemas.envelopes import AppointmentList, CommandType, ErrorEnvelope, PatientList
from tests.fixtures.schemas.samples import APPOINTMENT, ERRORS, MINIMAL_PATIENT, PATIENT, T0, command, result

CATALOG = default_catalog()


def _fastavro(writer_name: str, envelope: BaseModel, release: int | None = None) -> bytes:
    writer = CATALOG.current(writer_name) if release is None else CATALOG.release(release, writer_name)
    buffer = io.BytesIO()
    schemaless_writer(buffer, writer.parsed, _record(envelope))
    return buffer.getvalue()


def _compiled(writer_name: str, envelope: BaseModel, release: int | None = None) -> bytes:
    writer = CATALOG.current(writer_name) if release is None else CATALOG.release(release, writer_name)
    return compile_writer(writer.parsed)(envelope)


def _odd_results() -> dict[str, Any]:
    pre_epoch = datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    unicode_patient = PATIENT.model_copy(
        update={
            "first_name": "Zoë",
            "last_name": "Ō'Brien-\U0001d518",
            "middle_name": "",
            "date_of_birth": date(1901, 1, 1),
        }
    )
    long_text = APPOINTMENT.model_copy(update={"notes": "n" * 5000, "start": pre_epoch, "end": T0})
    return {
        "no patients": result(CommandType.SEARCH_PATIENTS).model_copy(
            update={"payload": PatientList(patients=())}
        ),
        "many patients": result(CommandType.SEARCH_PATIENTS).model_copy(
            update={"payload": PatientList(patients=(PATIENT, MINIMAL_PATIENT, unicode_patient) * 30)}
        ),
        "minimal patient": result(CommandType.CREATE_PATIENT).model_copy(update={"payload": MINIMAL_PATIENT}),
        "unicode patient": result(CommandType.UPDATE_PATIENT).model_copy(update={"payload": unicode_patient}),
        "appointments": result(CommandType.LIST_APPOINTMENTS).model_copy(
            update={"payload": AppointmentList(appointments=(APPOINTMENT, long_text) * 40)}
        ),
        "bare appointment": result(CommandType.CREATE_APPOINTMENT).model_copy(
            update={
                "payload": Appointment.model_validate(
                    {
                        **APPOINTMENT.model_dump(),
                        "provider_id": None,
                        "appointment_type": None,
                        "notes": None,
                        "status": AppointmentStatus.BROKEN,
                    }
                )
            }
        ),
        "a PMS kind the enum lacks": result(CommandType.VALIDATE_CONNECTION).model_copy(
            update={
                "pms": "CURVE",
                "payload": ConnectionStatus(ok=False, pms="CURVE", writable=False, detail="x"),
            }
        ),
        "big numbers": result(CommandType.LIST_LOCATIONS).model_copy(
            update={"attempts": 2**31 - 1, "duration_ms": 2**62, "completed_at": T0 + timedelta(days=40000)}
        ),
        "small numbers": result(CommandType.LIST_OPERATORIES).model_copy(
            update={"attempts": 63, "duration_ms": 64}
        ),
    }


RESULTS = {ct.value: result(ct) for ct in CommandType} | _odd_results()
ERROR_CASES = ERRORS | {
    "no ids": ErrorEnvelope(code=ErrorCode.VALIDATION, retryable=False, message="undecodable", failed_at=T0),
    "unknown PMS kind": ErrorEnvelope(
        code=ErrorCode.INTERNAL, retryable=False, message="m", pms="CURVE", http_status=-1, failed_at=T0
    ),
}


@pytest.mark.parametrize("name", list(RESULTS))
def test_a_result_is_written_as_fastavro_writes_it(name: str) -> None:
    assert _compiled("Result", RESULTS[name]) == _fastavro("Result", RESULTS[name])


@pytest.mark.parametrize("command_type", list(CommandType))
def test_a_command_is_written_as_fastavro_writes_it(command_type: CommandType) -> None:
    sent = command(command_type)
    assert _compiled("Command", sent) == _fastavro("Command", sent)


def test_a_command_without_the_optional_fields_is_written_as_fastavro_writes_it() -> None:
    sent = command(CommandType.LIST_LOCATIONS, expires_at=None, requested_by=None)
    assert _compiled("Command", sent) == _fastavro("Command", sent)


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_an_error_is_written_as_fastavro_writes_it(name: str) -> None:
    assert _compiled("CommandError", ERROR_CASES[name]) == _fastavro("CommandError", ERROR_CASES[name])


RELEASED = [(release, short) for release in load_history() for short in ("Command", "Result", "CommandError")]
SAMPLES = {
    "Command": [command(ct) for ct in CommandType],
    "Result": list(RESULTS.values()),
    "CommandError": list(ERROR_CASES.values()),
}


@pytest.mark.parametrize(("release", "short"), RELEASED)
def test_every_release_writes_as_fastavro_or_fails_as_fastavro(release: int, short: str) -> None:
    for envelope in SAMPLES[short]:
        try:
            expected: bytes | type[Exception] = _fastavro(short, envelope, release)
        except ValueError:
            expected = ValueError
        if expected is ValueError:
            with pytest.raises(ValueError, match=r"symbol|branch"):  # v1's PmsKind enum cannot name CURVE
                _compiled(short, envelope, release)
        else:
            assert _compiled(short, envelope, release) == expected


def test_the_codec_writes_the_compiled_bytes_and_reads_them_back() -> None:
    codec = Codec()
    for sent in RESULTS.values():
        message = codec.encode_result(sent)
        assert message.value[10:] == _fastavro("Result", sent)
        assert codec.decode_result(message.value, message.headers, message.key) == sent


def test_a_value_the_schema_cannot_carry_is_a_value_error() -> None:
    schema = parse_schema(
        {"type": "record", "name": "R", "fields": [{"name": "pms", "type": ["null", "string"]}]}
    )
    with pytest.raises(ValueError, match="no branch"):
        compile_writer(schema)(ConnectionStatus.model_construct(pms=7))


def test_a_type_the_contract_does_not_use_is_left_to_fastavro() -> None:
    schema = parse_schema({"type": "record", "name": "R", "fields": [{"name": "x", "type": "double"}]})
    with pytest.raises(UnsupportedSchema):
        compile_writer(schema)
