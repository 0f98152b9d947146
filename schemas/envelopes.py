"""The three events of the contract as pydantic models: a command in, a result or an error out.

Each model mirrors a record of ``schemas/pms/{command,result,error}.avsc`` field for field. The Avro schema
guarantees shape; these models add meaning (an appointment ending before it starts, a command whose type
disagrees with its payload, an answer expiring before it was asked for).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator
from pydantic_core import InitErrorDetails

from adapters.domain import (
    Appointment,
    AppointmentCreateData,
    AppointmentUpdateData,
    ConnectionStatus,
    DateRange,
    Location,
    Operatory,
    Patient,
    PatientCreateData,
    PatientSearchQuery,
    PatientUpdateData,
    PmsKind,
    UtcDateTime,
)
from adapters.errors import ErrorCode

__all__ = [
    "PAYLOAD_TYPES",
    "RESULT_PAYLOAD_TYPES",
    "AppointmentList",
    "CommandEnvelope",
    "CommandPayload",
    "CommandType",
    "CreateAppointmentPayload",
    "CreatePatientPayload",
    "ErrorEnvelope",
    "ListAppointmentsPayload",
    "ListLocationsPayload",
    "ListOperatoriesPayload",
    "LocationList",
    "OperatoryList",
    "PatientList",
    "ResultEnvelope",
    "ResultPayload",
    "SearchPatientsPayload",
    "UpdateAppointmentPayload",
    "UpdatePatientPayload",
    "ValidateConnectionPayload",
]


class CommandType(StrEnum):
    """The nine operations; the values are the Avro enum symbols and appear in ``ce_type``."""

    SEARCH_PATIENTS = "SearchPatients"
    CREATE_PATIENT = "CreatePatient"
    UPDATE_PATIENT = "UpdatePatient"
    LIST_APPOINTMENTS = "ListAppointments"
    CREATE_APPOINTMENT = "CreateAppointment"
    UPDATE_APPOINTMENT = "UpdateAppointment"
    LIST_LOCATIONS = "ListLocations"
    LIST_OPERATORIES = "ListOperatories"
    VALIDATE_CONNECTION = "ValidateConnection"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Payload(_Model):
    command_type: ClassVar[CommandType]


class SearchPatientsPayload(_Payload):
    command_type = CommandType.SEARCH_PATIENTS
    query: PatientSearchQuery


class CreatePatientPayload(_Payload):
    command_type = CommandType.CREATE_PATIENT
    patient: PatientCreateData


class UpdatePatientPayload(_Payload):
    command_type = CommandType.UPDATE_PATIENT
    patient_id: str = Field(min_length=1)
    updates: PatientUpdateData


class ListAppointmentsPayload(_Payload):
    command_type = CommandType.LIST_APPOINTMENTS
    location_id: str | None = None
    range: DateRange


class CreateAppointmentPayload(_Payload):
    command_type = CommandType.CREATE_APPOINTMENT
    appointment: AppointmentCreateData


class UpdateAppointmentPayload(_Payload):
    command_type = CommandType.UPDATE_APPOINTMENT
    appointment_id: str = Field(min_length=1)
    updates: AppointmentUpdateData


class ListLocationsPayload(_Payload):
    command_type = CommandType.LIST_LOCATIONS


class ListOperatoriesPayload(_Payload):
    command_type = CommandType.LIST_OPERATORIES
    location_id: str | None = None


class ValidateConnectionPayload(_Payload):
    command_type = CommandType.VALIDATE_CONNECTION


PAYLOAD_TYPES: dict[CommandType, type[_Payload]] = {
    cls.command_type: cls
    for cls in (
        SearchPatientsPayload,
        CreatePatientPayload,
        UpdatePatientPayload,
        ListAppointmentsPayload,
        CreateAppointmentPayload,
        UpdateAppointmentPayload,
        ListLocationsPayload,
        ListOperatoriesPayload,
        ValidateConnectionPayload,
    )
}
"""The payload model of each command type (one Avro record each, named like the class)."""


def _payload_tag(value: Any) -> str | None:
    # Two payloads are empty records, so a dict alone cannot name its type: CommandEnvelope turns dicts
    # into models by command_type before this runs, and here only instances are left.
    return value.command_type.value if isinstance(value, _Payload) else None


def _validate_payload(model: type[BaseModel], value: dict[str, Any], title: str) -> BaseModel:
    """``value`` as ``model``; errors are re-raised with their place in the envelope (``payload....``)."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        details: list[InitErrorDetails] = [
            {"type": e["type"], "loc": ("payload", *e["loc"]), "input": e["input"], "ctx": e.get("ctx", {})}
            for e in exc.errors()
        ]
        raise ValidationError.from_exception_data(title, details) from None


CommandPayload = Annotated[
    Annotated[SearchPatientsPayload, Tag(CommandType.SEARCH_PATIENTS.value)]
    | Annotated[CreatePatientPayload, Tag(CommandType.CREATE_PATIENT.value)]
    | Annotated[UpdatePatientPayload, Tag(CommandType.UPDATE_PATIENT.value)]
    | Annotated[ListAppointmentsPayload, Tag(CommandType.LIST_APPOINTMENTS.value)]
    | Annotated[CreateAppointmentPayload, Tag(CommandType.CREATE_APPOINTMENT.value)]
    | Annotated[UpdateAppointmentPayload, Tag(CommandType.UPDATE_APPOINTMENT.value)]
    | Annotated[ListLocationsPayload, Tag(CommandType.LIST_LOCATIONS.value)]
    | Annotated[ListOperatoriesPayload, Tag(CommandType.LIST_OPERATORIES.value)]
    | Annotated[ValidateConnectionPayload, Tag(CommandType.VALIDATE_CONNECTION.value)],
    Discriminator(_payload_tag),
]


class CommandEnvelope(_Model):
    """A request to one practice's PMS; ``command_id`` is the idempotency key."""

    command_id: UUID
    command_type: CommandType
    practice_id: str = Field(min_length=1)
    issued_at: UtcDateTime
    expires_at: UtcDateTime | None = None
    requested_by: str | None = None
    payload: CommandPayload

    @model_validator(mode="before")
    @classmethod
    def _payload_from_command_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("payload"), dict):
            try:
                payload_type: type[BaseModel] = PAYLOAD_TYPES[CommandType(str(data.get("command_type")))]
            except ValueError:
                return data  # the command_type field reports the bad value
            return {**data, "payload": _validate_payload(payload_type, data["payload"], cls.__name__)}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> CommandEnvelope:
        if self.payload.command_type is not self.command_type:
            raise ValueError("command_type disagrees with the payload")
        if self.expires_at is not None and self.expires_at <= self.issued_at:
            raise ValueError("expires_at must be after issued_at")
        return self


class PatientList(_Model):
    patients: tuple[Patient, ...]


class AppointmentList(_Model):
    appointments: tuple[Appointment, ...]


class LocationList(_Model):
    locations: tuple[Location, ...]


class OperatoryList(_Model):
    operatories: tuple[Operatory, ...]


ResultPayload = (
    Patient | PatientList | Appointment | AppointmentList | LocationList | OperatoryList | ConnectionStatus
)

RESULT_PAYLOAD_TYPES: dict[CommandType, type[BaseModel]] = {
    CommandType.SEARCH_PATIENTS: PatientList,
    CommandType.CREATE_PATIENT: Patient,
    CommandType.UPDATE_PATIENT: Patient,
    CommandType.LIST_APPOINTMENTS: AppointmentList,
    CommandType.CREATE_APPOINTMENT: Appointment,
    CommandType.UPDATE_APPOINTMENT: Appointment,
    CommandType.LIST_LOCATIONS: LocationList,
    CommandType.LIST_OPERATORIES: OperatoryList,
    CommandType.VALIDATE_CONNECTION: ConnectionStatus,
}
"""The answer each command type gets (one Avro record each, named like the class)."""


class ResultEnvelope(_Model):
    """The successful answer to one command."""

    command_id: UUID
    command_type: CommandType
    practice_id: str = Field(min_length=1)
    pms: PmsKind
    completed_at: UtcDateTime
    attempts: int = Field(ge=1)
    duration_ms: int = Field(ge=0)
    payload: ResultPayload

    @model_validator(mode="before")
    @classmethod
    def _payload_from_command_type(cls, data: Any) -> Any:
        # Patient and Appointment dicts are told apart by their fields, but be exact when we can.
        if isinstance(data, dict) and isinstance(data.get("payload"), dict):
            try:
                payload_type = RESULT_PAYLOAD_TYPES[CommandType(str(data.get("command_type")))]
            except ValueError:
                return data
            return {**data, "payload": _validate_payload(payload_type, data["payload"], cls.__name__)}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ResultEnvelope:
        if type(self.payload) is not RESULT_PAYLOAD_TYPES[self.command_type]:
            raise ValueError("command_type disagrees with the payload")
        return self


class ErrorEnvelope(_Model):
    """The failed answer to one command. ``message`` carries ids and codes only, never patient data.

    The ids are optional because input that could not be decoded still gets an error event.
    """

    command_id: UUID | None = None
    command_type: CommandType | None = None
    practice_id: str | None = None
    code: ErrorCode
    retryable: bool
    message: str
    pms: PmsKind | None = None
    attempts: int = Field(default=0, ge=0)
    http_status: int | None = None
    failed_at: UtcDateTime
