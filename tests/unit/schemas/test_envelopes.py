"""Semantic validation of the envelopes: what the Avro schema cannot say."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.domain import Patient
from schemas.envelopes import (
    PAYLOAD_TYPES,
    CommandEnvelope,
    CommandType,
    CreateAppointmentPayload,
    ListLocationsPayload,
    ResultEnvelope,
    ValidateConnectionPayload,
)
from tests.fixtures.schemas.samples import (
    COMMAND_PAYLOADS,
    CREATE_APPOINTMENT,
    MINIMAL_PATIENT,
    T0,
    command,
    result,
)


@pytest.mark.parametrize("command_type", list(CommandType))
def test_every_command_type_has_a_payload_and_sample(command_type: CommandType) -> None:
    assert PAYLOAD_TYPES[command_type].command_type is command_type
    assert command(command_type).payload == COMMAND_PAYLOADS[command_type]


def _dump(command_type: CommandType) -> dict[str, Any]:
    return command(command_type).model_dump()


def _with_payload(command_type: CommandType, **payload: Any) -> dict[str, Any]:
    return {**_dump(command_type), "payload": payload}


REVERSED = {"start": T0, "end": T0 - timedelta(minutes=1)}


@pytest.mark.parametrize(
    ("data", "loc"),
    [
        pytest.param(
            _with_payload(
                CommandType.CREATE_APPOINTMENT, appointment={**CREATE_APPOINTMENT.model_dump(), **REVERSED}
            ),
            ("payload", "appointment"),
            id="appointment-ends-before-start",
        ),
        pytest.param(
            _with_payload(CommandType.UPDATE_APPOINTMENT, appointment_id="A-1", updates=REVERSED),
            ("payload", "updates"),
            id="update-ends-before-start",
        ),
        pytest.param(
            _with_payload(CommandType.LIST_APPOINTMENTS, range=REVERSED),
            ("payload", "range"),
            id="range-reversed",
        ),
        pytest.param(
            _with_payload(CommandType.SEARCH_PATIENTS, query={"limit": 5}),
            ("payload", "query"),
            id="no-criteria",
        ),
        pytest.param(
            {**_dump(CommandType.LIST_LOCATIONS), "expires_at": T0 - timedelta(seconds=1)},
            (),
            id="expired-early",
        ),
        pytest.param(
            {**_dump(CommandType.LIST_LOCATIONS), "practice_id": ""}, ("practice_id",), id="no-practice"
        ),
        pytest.param(
            {**_dump(CommandType.LIST_LOCATIONS), "issued_at": T0.replace(tzinfo=None)},
            ("issued_at",),
            id="naive",
        ),
        pytest.param({**_dump(CommandType.LIST_LOCATIONS), "extra": 1}, ("extra",), id="extra-field"),
    ],
)
def test_invalid_commands_are_rejected(data: dict[str, Any], loc: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as info:
        CommandEnvelope.model_validate(data)
    assert info.value.errors()[0]["loc"][: len(loc)] == loc


def test_command_type_must_agree_with_payload_instance() -> None:
    with pytest.raises(ValidationError, match="disagrees"):
        command(CommandType.LIST_LOCATIONS, payload=ValidateConnectionPayload())


def test_dict_payload_is_typed_by_command_type() -> None:
    # The two empty payloads look the same as dicts: command_type alone picks the model.
    assert isinstance(command(CommandType.LIST_LOCATIONS, payload={}).payload, ListLocationsPayload)
    assert isinstance(command(CommandType.VALIDATE_CONNECTION, payload={}).payload, ValidateConnectionPayload)
    created = command(
        CommandType.CREATE_APPOINTMENT, payload={"appointment": CREATE_APPOINTMENT.model_dump()}
    )
    assert created.payload == CreateAppointmentPayload(appointment=CREATE_APPOINTMENT)


def test_result_payload_must_fit_command_type() -> None:
    with pytest.raises(ValidationError, match="disagrees"):
        ResultEnvelope.model_validate(
            {**result(CommandType.LIST_LOCATIONS).model_dump(), "payload": MINIMAL_PATIENT}
        )
    assert isinstance(result(CommandType.UPDATE_PATIENT).payload, Patient)


def test_envelopes_are_frozen() -> None:
    with pytest.raises(ValidationError):
        command(CommandType.LIST_LOCATIONS).practice_id = "other"  # type: ignore[misc]
