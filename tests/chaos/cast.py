"""The cast of a chaos run: which practices the relay serves, on which sandbox, and the seeded records each
one's commands may use (locations, operatories, providers, patients, appointments).

Both sandboxes are seeded deterministically, so the records come from the same seed builders the contract
harnesses use (the admin summary lists ids, not patients or appointments). Several practices share one
Dentrix organization: what they may update is handed out per organization (:class:`Pools`), so no two update
commands of a run ever touch one record, and a record's reference marker names the one command that wrote it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from adapters.dentrix.sandbox.seed import build_seed as dentrix_seed
from adapters.eaglesoft.sandbox.seed import build_seed as eaglesoft_seed
from tests.contract.dentrix_harness import DentrixHarness
from tests.contract.eaglesoft_harness import EaglesoftHarness

__all__ = ["Cast", "Pools", "Stage", "build_cast"]

# Seeded patients that bookings name; the rest of a pool's patients are handed out to updates.
_BOOKED = 8


@dataclass(frozen=True)
class Stage:
    """One relay practice: where it lives and what its commands may name."""

    practice_id: str
    vendor: str  # "dentrix" | "eaglesoft"
    patient_pool: str  # who owns its patients (a Dentrix organization, an Eaglesoft practice)
    appointment_pool: str  # who owns its appointments (a Dentrix location, an Eaglesoft practice)
    time_zone: str
    location_id: str
    operatory_ids: tuple[str, ...]  # active ones only
    provider_id: str
    patient_ids: tuple[str, ...]  # seeded patients (bookings name them; updates take them from the pool)
    last_names: tuple[str, ...]  # search keys
    anchor: date
    connection: dict[str, Any] = field(
        repr=False, default_factory=dict
    )  # registry entry, secrets by reference


@dataclass
class Pools:
    """Update targets not yet handed out, per pool: each seeded record is updated by one command at most."""

    patients: dict[str, list[str]]
    appointments: dict[str, list[str]]

    def take_patient(self, pool: str) -> str | None:
        free = self.patients.get(pool) or []
        return free.pop(0) if free else None

    def take_appointment(self, pool: str) -> str | None:
        free = self.appointments.get(pool) or []
        return free.pop(0) if free else None


@dataclass(frozen=True)
class Cast:
    stages: tuple[Stage, ...]
    secrets: dict[str, str]  # env var -> value, for the registry's {env:} references
    patients: dict[str, tuple[str, ...]]  # pool -> updatable patients, in hand-out order
    appointments: dict[str, tuple[str, ...]]  # pool -> updatable appointments

    def practices(self, settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Registry ``practices`` entries, each with ``settings`` (rate_per_second, max_concurrent, circuit)."""
        return {
            s.practice_id: copy.deepcopy(
                {"pms": s.vendor, "time_zone": s.time_zone, **settings, **s.connection}
            )
            for s in self.stages
        }

    def pools(self) -> Pools:
        return Pools(
            {k: list(v) for k, v in self.patients.items()}, {k: list(v) for k, v in self.appointments.items()}
        )

    def stage(self, practice_id: str) -> Stage:
        return next(s for s in self.stages if s.practice_id == practice_id)


def build_cast(
    dentrix: DentrixHarness,
    eaglesoft: EaglesoftHarness,
    *,
    dentrix_practices: int = 2,
    eaglesoft_practices: int = 2,
    read_timeout_seconds: float = 4.0,
) -> Cast:
    """Practices ``dx-1..n`` (one per Dentrix location the harness's client may reach) and ``es-1..n`` (one per
    Eaglesoft practice), with connections that read the secrets from the environment."""
    secrets: dict[str, str] = {}
    stages: list[Stage] = []
    patients: dict[str, tuple[str, ...]] = {}
    appointments: dict[str, tuple[str, ...]] = {}
    found = [
        *_dentrix_stages(dentrix, dentrix_practices, secrets),
        *_eaglesoft_stages(eaglesoft, eaglesoft_practices, secrets),
    ]
    for stage, pool_patients, pool_appointments in found:
        stages.append(_with_timeout(stage, read_timeout_seconds))
        patients.setdefault(stage.patient_pool, pool_patients)
        appointments.setdefault(stage.appointment_pool, pool_appointments)
    return Cast(tuple(stages), secrets, patients, appointments)


def _with_timeout(stage: Stage, seconds: float) -> Stage:
    connection = {**stage.connection}
    connection["connection"] = {**connection["connection"], "read_timeout_seconds": seconds}
    return Stage(**{**stage.__dict__, "connection": connection})


def _secret(secrets: dict[str, str], name: str, value: object) -> dict[str, str]:
    secrets[name] = str(value)
    return {"env": name}


def _dentrix_stages(
    harness: DentrixHarness, count: int, secrets: dict[str, str]
) -> Iterator[tuple[Stage, tuple[str, ...], tuple[str, ...]]]:
    summary = harness._admin_json("GET", "/_admin/summary")
    base = harness.connection()
    client = next(c for c in summary["clients"] if c["clientId"] == base["client_id"])
    anchor = date.fromisoformat(summary["anchor"])
    seed = dentrix_seed(int(summary["seed"]), anchor)
    planted = {i for ids in summary["planted"].values() for i in ids}
    granted = [o for o in summary["organizations"] if o["id"] in client["organizationIds"]]
    # Locations round-robin over the organizations: two practices are two organizations when there are two.
    locations = [(org, org["locations"][i]) for i in range(4) for org in granted if i < len(org["locations"])]
    secret = _secret(secrets, "CHAOS_DENTRIX_CLIENT_SECRET", base["client_secret"])
    for number, (org, location) in enumerate(locations[:count], start=1):
        records = next(o for o in seed.orgs if o.id == org["id"]).records
        operatories = tuple(op["id"] for op in location["operatories"] if op["active"])
        people = [p for p in records["patients"] if p["patientStatus"] in ("ACTIVE", "NEW")]
        booked = [
            a["id"]
            for a in records["appointments"]
            if a["location"]["id"] == location["id"]
            and a["operatory"]["id"] in operatories
            and a["status"] in ("UNCONFIRMED", "CONFIRMED")
            and a["patient"] is not None
            and datetime.fromisoformat(a["start"]).date() >= anchor
            and a["id"] not in planted
        ]
        connection = {**base, "organization_id": org["id"], "client_secret": secret}
        yield (
            Stage(
                practice_id=f"dx-{number}",
                vendor="dentrix",
                patient_pool=org["id"],
                appointment_pool=f"{org['id']}/{location['id']}",
                time_zone=location["timeZone"],
                location_id=location["id"],
                operatory_ids=operatories,
                provider_id=org["providers"][0],
                patient_ids=tuple(p["id"] for p in people[:_BOOKED]),
                last_names=_common_last_names([p["lastName"] for p in people]),
                anchor=anchor,
                connection={"connection": connection},
            ),
            tuple(p["id"] for p in people[_BOOKED:]),
            tuple(booked),
        )


def _eaglesoft_stages(
    harness: EaglesoftHarness, count: int, secrets: dict[str, str]
) -> Iterator[tuple[Stage, tuple[str, ...], tuple[str, ...]]]:
    summary = harness.summary
    base = harness.connection()
    anchor = date.fromisoformat(summary["anchor"])
    seed = eaglesoft_seed(int(summary["seed"]), anchor)
    planted = {str(i) for ids in summary["planted"].values() for i in ids}
    key = _secret(secrets, "CHAOS_EAGLESOFT_INTEGRATION_KEY", base["integration_key"])
    password = _secret(secrets, "CHAOS_EAGLESOFT_PASSWORD", base["password"])
    for number, practice in enumerate(summary["practices"][:count], start=1):
        pid = practice["PracticeId"]
        chairs = tuple(str(c["ChairNum"]) for c in practice["chairs"] if c["Hidden"] == "N")
        people = [p for p in seed.records["patients"] if p["PracticeId"] == pid and p["Status"] == "A"]
        booked = [
            str(a["AppointmentId"])
            for a in seed.records["appointments"]
            if a["PracticeId"] == pid
            and a["Classification"] == 1
            and str(a["LocationId"]) in chairs
            and a["AppointmentArrivalStatus"] == 0
            and datetime.fromisoformat(a["StartTime"]).date() >= anchor
            and str(a["AppointmentId"]) not in planted
        ]
        connection = {
            **base,
            "practice_id": str(pid),
            "integration_key": key,
            "password": password,
        }
        yield (
            Stage(
                practice_id=f"es-{number}",
                vendor="eaglesoft",
                patient_pool=f"es/{pid}",
                appointment_pool=f"es/{pid}",
                time_zone=practice["timeZone"],
                location_id=str(pid),
                operatory_ids=chairs,
                provider_id=practice["providers"][0],
                patient_ids=tuple(str(p["PatientId"]) for p in people[:_BOOKED]),
                last_names=_common_last_names([p["LastName"] for p in people]),
                anchor=anchor,
                connection={"connection": connection},
            ),
            tuple(str(p["PatientId"]) for p in people[_BOOKED:]),
            tuple(booked),
        )


def _common_last_names(names: list[str], keep: int = 4) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return tuple(sorted(counts, key=lambda n: (-counts[n], n))[:keep])
