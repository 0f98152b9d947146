"""The normalized domain: what every adapter speaks, whatever its vendor's dialect.

Each model maps 1:1 to a record of the same name in ``schemas/pms/domain.avsc``: field names, optionality and
enum symbols are identical, so the codec moves values between Avro and these models without a mapping table.

Instants are timezone-aware UTC ``datetime`` values; a naive datetime is rejected, because an office-local
time without its zone is exactly the ambiguity this layer exists to remove.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = [
    "Address",
    "Appointment",
    "AppointmentCreateData",
    "AppointmentStatus",
    "AppointmentUpdateData",
    "ConnectionStatus",
    "DateRange",
    "Gender",
    "Location",
    "Operatory",
    "Patient",
    "PatientCreateData",
    "PatientSearchQuery",
    "PatientStatus",
    "PatientUpdateData",
    "Phone",
    "PhoneType",
    "PmsKind",
    "UtcDateTime",
]


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a time zone (UTC instant expected)")
    return value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]
"""A timezone-aware instant, normalized to UTC."""

PmsKind = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")]
"""Which PMS: the kind of one vendor of :data:`adapters.vendors.VENDORS` (``DENTRIX``, ``EAGLESOFT``, …).
Open text, not an enum: a vendor added later is a new value, never a new type."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class Gender(StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class PatientStatus(StrEnum):
    NEW = "NEW"
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    NON_PATIENT = "NON_PATIENT"


class PhoneType(StrEnum):
    MOBILE = "MOBILE"
    HOME = "HOME"
    WORK = "WORK"
    OTHER = "OTHER"


class AppointmentStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    CONFIRMED = "CONFIRMED"
    ARRIVED = "ARRIVED"
    IN_CHAIR = "IN_CHAIR"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    NO_SHOW = "NO_SHOW"
    BROKEN = "BROKEN"


class Phone(_Record):
    number: str = Field(min_length=1)
    type: PhoneType = PhoneType.OTHER


class Address(_Record):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Patient(_Record):
    id: str
    first_name: str
    last_name: str
    middle_name: str | None = None
    preferred_name: str | None = None
    date_of_birth: date | None = None
    gender: Gender = Gender.UNKNOWN
    phones: tuple[Phone, ...] = ()
    email: str | None = None
    address: Address | None = None
    status: PatientStatus = PatientStatus.ACTIVE
    chart_number: str | None = None
    external_reference: str | None = None


class Appointment(_Record):
    id: str
    patient_id: str
    location_id: str
    operatory_id: str
    provider_id: str | None = None
    start: UtcDateTime
    end: UtcDateTime
    duration_minutes: int = Field(ge=0)
    status: AppointmentStatus
    appointment_type: str | None = None
    notes: str | None = None
    external_reference: str | None = None


class Location(_Record):
    id: str
    name: str
    time_zone: str
    phone: str | None = None
    address: Address | None = None


class Operatory(_Record):
    id: str
    location_id: str
    name: str
    short_name: str | None = None
    active: bool = True


class ConnectionStatus(_Record):
    ok: bool
    pms: PmsKind
    version: str | None = None
    writable: bool
    detail: str | None = None


class DateRange(_Record):
    start: UtcDateTime
    end: UtcDateTime

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end <= self.start:
            raise ValueError("date range end must be after its start")
        return self


class PatientSearchQuery(_Record):
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: date | None = None
    phone: str | None = None
    email: str | None = None
    limit: int = Field(default=50, ge=1, le=500)

    @model_validator(mode="after")
    def _has_criterion(self) -> PatientSearchQuery:
        criteria = (self.first_name, self.last_name, self.date_of_birth, self.phone, self.email)
        if all(value is None for value in criteria):
            raise ValueError("a patient search needs at least one criterion")
        return self


class PatientCreateData(_Record):
    first_name: str = Field(min_length=1)
    last_name: str = Field(min_length=1)
    middle_name: str | None = None
    preferred_name: str | None = None
    date_of_birth: date
    gender: Gender = Gender.UNKNOWN
    phones: tuple[Phone, ...] = ()
    email: str | None = None
    address: Address | None = None
    preferred_location_id: str | None = None


class PatientUpdateData(_Record):
    """A partial update: a field left ``None`` keeps its current value in the PMS."""

    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    preferred_name: str | None = None
    date_of_birth: date | None = None
    gender: Gender | None = None
    phones: tuple[Phone, ...] | None = None
    email: str | None = None
    address: Address | None = None
    status: PatientStatus | None = None


class AppointmentCreateData(_Record):
    patient_id: str
    location_id: str
    operatory_id: str
    provider_id: str | None = None
    start: UtcDateTime
    end: UtcDateTime
    status: AppointmentStatus = AppointmentStatus.SCHEDULED
    appointment_type: str | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> AppointmentCreateData:
        if self.end <= self.start:
            raise ValueError("appointment end must be after its start")
        return self


class AppointmentUpdateData(_Record):
    """A partial update: a field left ``None`` keeps its current value in the PMS."""

    operatory_id: str | None = None
    provider_id: str | None = None
    start: UtcDateTime | None = None
    end: UtcDateTime | None = None
    status: AppointmentStatus | None = None
    appointment_type: str | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> AppointmentUpdateData:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("appointment end must be after its start")
        return self
