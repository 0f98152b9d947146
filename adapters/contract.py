"""The contract every PMS adapter implements: the platform's nine operations plus lifecycle and reconciliation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType

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
)

__all__ = ["PMSInterface"]


class PMSInterface(ABC):
    """An async client for one practice's PMS.

    Failures raise the types of :mod:`adapters.errors` and nothing else. Every write carries a
    ``reference`` (the command id) that the adapter stores in the PMS record, so that a write whose outcome is
    unknown can later be reconciled with :meth:`find_by_reference` instead of being written again.
    """

    kind: PmsKind

    async def open(self) -> None:  # noqa: B027 - optional hook, most adapters open lazily
        """Acquire connections or sessions ahead of the first call."""

    async def close(self) -> None:  # noqa: B027
        """Release pooled connections and sessions."""

    async def __aenter__(self) -> PMSInterface:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @abstractmethod
    async def search_patients(self, query: PatientSearchQuery) -> list[Patient]: ...

    @abstractmethod
    async def create_patient(self, data: PatientCreateData, *, reference: str) -> Patient: ...

    @abstractmethod
    async def update_patient(
        self, patient_id: str, updates: PatientUpdateData, *, reference: str
    ) -> Patient: ...

    @abstractmethod
    async def list_appointments(
        self, location_id: str | None, date_range: DateRange
    ) -> list[Appointment]: ...

    @abstractmethod
    async def create_appointment(self, data: AppointmentCreateData, *, reference: str) -> Appointment: ...

    @abstractmethod
    async def update_appointment(
        self, appointment_id: str, updates: AppointmentUpdateData, *, reference: str
    ) -> Appointment: ...

    @abstractmethod
    async def list_locations(self) -> list[Location]: ...

    @abstractmethod
    async def list_operatories(self, location_id: str | None = None) -> list[Operatory]: ...

    @abstractmethod
    async def validate_connection(self) -> ConnectionStatus: ...

    @abstractmethod
    async def find_by_reference(self, reference: str) -> Patient | Appointment | None:
        """The record that a write tagged with ``reference`` created or last changed, or None."""

    def invalidate_static_cache(self) -> None:  # noqa: B027
        """Drop cached locations and operatories so the next read goes to the PMS."""
