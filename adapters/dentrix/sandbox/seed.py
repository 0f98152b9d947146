"""The seeded world of the Dentrix sandbox: organizations, locations in several time zones, operatories
(some inactive), providers, a few hundred patients and several weeks of appointments around an anchor date.

Deterministic: one ``random.Random(seed)`` drives everything, and every date is relative to the anchor
(:data:`DEFAULT_ANCHOR`, Monday 2026-03-02, the week of the 2026-03-08 US daylight-saving start, unless
given), never to today. The sandbox itself anchors on today unless told otherwise, so that this week's
schedule has appointments; pass the anchor for a reproducible run.

Planted on purpose, and listed in :attr:`SeedData.planted`:

- appointments that straddle a daylight-saving change at every location: 01:30-03:30 local on 2026-03-08
  (60 real minutes where DST applies) and 00:30-02:30 local on 2026-11-01 (180 real minutes); Phoenix has
  no DST, so there they last 120 minutes;
- one double booking per organization (two appointments, same operatory, same start, on the anchor day);
- past appointments in inactive ("hidden") operatories.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adapters.dentrix.sandbox.auth import Client
from adapters.sandbox.seeding import fake_person, hex_id, token_string

__all__ = ["DEFAULT_ANCHOR", "RESOURCE_TYPES", "OrgSeed", "SeedData", "build_seed", "format_instant"]

DEFAULT_ANCHOR = date(2026, 3, 2)
RESOURCE_TYPES = {
    "patients": "PatientV1",
    "appointments": "AppointmentV1",
    "locations": "LocationV1",
    "operatories": "OperatoryV1",
    "providers": "ProviderV1",
}
# First id of each resource, just below a power of ten: ids grow a digit during the seed, so a client that
# sorts or compares ids as strings pages wrongly.
ID_BASES = {
    "locations": 997,
    "operatories": 9_985,
    "providers": 995,
    "patients": 99_500,
    "appointments": 999_000,
}

_ORGS = (
    (
        "Brightsmile Dental Group",
        (
            ("Brightsmile Midtown", "New York", "NY", "10018", "America/New_York", "212"),
            ("Brightsmile Loop", "Chicago", "IL", "60601", "America/Chicago", "312"),
        ),
        130,
    ),
    (
        "Canyon Family Dentistry",
        (
            ("Canyon Family Dentistry Phoenix", "Phoenix", "AZ", "85004", "America/Phoenix", "602"),
            ("Canyon Family Dentistry Denver", "Denver", "CO", "80202", "America/Denver", "303"),
        ),
        90,
    ),
    (
        "Pacific Coast Smiles",
        (("Pacific Coast Smiles Santa Monica", "Santa Monica", "CA", "90401", "America/Los_Angeles", "213"),),
        60,
    ),
)
# (client name, indexes of the organizations it is granted)
_CLIENTS = (("pms-relay", (0, 1)), ("other-integrator", (2,)))
_TITLES = ("Adult Prophy", "Comp Exam", "Periodic Exam", "Crown Prep", "Composite Filling", "Root Canal",
           "Child Prophy", "Bitewings", "Implant Consult", "Emergency")  # fmt: skip
_PROVIDERS = (
    ("DDS", "General Dentistry"),
    ("DDS", "Endodontics"),
    ("RDH", "Hygiene"),
    ("DMD", "Orthodontics"),
)
_NOTES = ("Prefers morning visits", "Premedication required", "Bring insurance card", "Anxious patient")
_WINDOW_DAYS = (-14, 21)  # appointments from two weeks before the anchor to three weeks after
_DST_DAYS = ((date(2026, 3, 8), time(1, 30), time(3, 30)), (date(2026, 11, 1), time(0, 30), time(2, 30)))


def format_instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_modified(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


@dataclass
class OrgSeed:
    id: str
    name: str
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {r: [] for r in RESOURCE_TYPES})


@dataclass
class SeedData:
    seed: int
    anchor: date
    clients: list[Client]
    orgs: list[OrgSeed]
    next_ids: dict[str, int]
    planted: dict[str, list[str]]


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.next = dict(ID_BASES)

    def take(self, resource: str) -> str:
        value = self.next[resource]
        self.next[resource] = value + self._rng.randint(1, 9)  # gaps: keyset, not offsets
        return str(value)


def _stub(record: dict[str, Any]) -> dict[str, Any]:
    return {"id": record["id"], "type": record["type"]}


def build_seed(seed: int = 42, anchor: date = DEFAULT_ANCHOR) -> SeedData:
    rng = random.Random(seed)
    ids = _Ids(rng)
    planted: dict[str, list[str]] = {
        "dstAppointments": [],
        "doubleBooked": [],
        "inactiveOperatoryAppointments": [],
    }
    orgs = [_build_org(rng, ids, anchor, spec, planted) for spec in _ORGS]
    clients = [
        Client(token_string(rng, 32), token_string(rng, 16), name, tuple(orgs[i].id for i in granted))
        for name, granted in _CLIENTS
    ]
    return SeedData(seed, anchor, clients, orgs, ids.next, planted)


def _modified(rng: random.Random, anchor: date) -> str:
    base = datetime.combine(anchor, time(0, 0), tzinfo=UTC) - timedelta(days=40)
    return format_modified(
        base + timedelta(seconds=rng.randint(0, 35 * 86400), milliseconds=rng.randint(0, 999))
    )


def _build_org(
    rng: random.Random, ids: _Ids, anchor: date, spec: tuple[Any, ...], planted: dict[str, list[str]]
) -> OrgSeed:
    name, locations, patient_count = spec
    org = OrgSeed(hex_id(rng), name)
    for loc_spec in locations:
        location = _location(rng, ids, anchor, loc_spec)
        org.records["locations"].append(location)
        org.records["operatories"] += _operatories(rng, ids, anchor, location)
    org.records["providers"] = [_provider(rng, ids, anchor, n) for n in range(len(_PROVIDERS))]
    org.records["patients"] = [
        _patient(rng, ids, anchor, org.records["locations"], n) for n in range(patient_count)
    ]
    org.records["appointments"] = list(_appointments(rng, ids, anchor, org, planted))
    return org


def _location(rng: random.Random, ids: _Ids, anchor: date, spec: tuple[str, ...]) -> dict[str, Any]:
    name, city, state, postal, tz, area = spec
    return {
        "id": ids.take("locations"),
        "type": "LocationV1",
        "name": name,
        "phone": f"{area}55501{rng.randint(0, 99):02d}",
        "address1": f"{rng.randint(100, 999)} Main St",
        "city": city,
        "state": state,
        "postalCode": postal,
        "timeZone": tz,
        "lastModified": _modified(rng, anchor),
    }


def _operatories(
    rng: random.Random, ids: _Ids, anchor: date, location: dict[str, Any]
) -> list[dict[str, Any]]:
    names = (("Operatory 1", "OP1", True), ("Operatory 2", "OP2", True), ("Hygiene 1", "HYG1", True),
             ("Operatory 4 (closed)", "OP4", False))  # fmt: skip
    return [
        {
            "id": ids.take("operatories"),
            "type": "OperatoryV1",
            "name": op_name,
            "shortName": short,
            "active": active,
            "location": _stub(location),
            "lastModified": _modified(rng, anchor),
        }
        for op_name, short, active in names
    ]


def _provider(rng: random.Random, ids: _Ids, anchor: date, n: int) -> dict[str, Any]:
    person = fake_person(rng, today=anchor, serial=n)
    title, specialty = _PROVIDERS[n]
    return {
        "id": ids.take("providers"),
        "type": "ProviderV1",
        "firstName": person.first_name,
        "lastName": person.last_name,
        "shortName": f"{person.last_name[:3].upper()}{n + 1}",
        "title": title,
        "specialty": specialty,
        "npi": "1" + "".join(str(rng.randint(0, 9)) for _ in range(9)),
        "active": n != len(_PROVIDERS) - 1 or rng.random() < 0.5,
        "lastModified": _modified(rng, anchor),
    }


def _patient(
    rng: random.Random, ids: _Ids, anchor: date, locations: list[dict[str, Any]], n: int
) -> dict[str, Any]:
    person = fake_person(rng, today=anchor, serial=n)
    home = rng.choice(locations)
    phones = [{"number": person.phone, "type": "MOBILE"}]
    if person.alt_phone:
        phones.append({"number": person.alt_phone, "type": "HOME"})
    return {
        "id": ids.take("patients"),
        "type": "PatientV1",
        "firstName": person.first_name,
        "lastName": person.last_name,
        "middleName": person.middle_name,
        "preferredName": person.preferred_name,
        "dateOfBirth": person.date_of_birth.isoformat(),
        "gender": person.sex,
        "patientStatus": rng.choices(("ACTIVE", "NEW", "INACTIVE", "NON-PATIENT"), weights=(80, 8, 10, 2))[0],
        "chartNumber": f"{person.last_name[:2].upper()}{person.first_name[:2].upper()}{n + 1:04d}",
        "address1": person.street,
        "address2": person.street2,
        "city": home["city"],
        "state": home["state"],
        "postalCode": home["postalCode"][:3] + f"{rng.randint(0, 99):02d}",
        "contactMethod": rng.choice(("CALL ME", "TEXT ME", "EMAIL ME")),
        "languageType": rng.choices(("ENGLISH", "SPANISH", "CHINESE"), weights=(85, 12, 3))[0],
        "preferredLocation": _stub(home),
        "phones": phones,
        "emailAddress": person.email,
        "notes": rng.choice(_NOTES) if rng.random() < 0.1 else None,
        "lastModified": _modified(rng, anchor),
    }


def _appointments(
    rng: random.Random, ids: _Ids, anchor: date, org: OrgSeed, planted: dict[str, list[str]]
) -> Iterator[dict[str, Any]]:
    locations = {loc["id"]: loc for loc in org.records["locations"]}
    new = _AppointmentFactory(rng, ids, anchor, org)
    for offset in range(*_WINDOW_DAYS):
        day = anchor + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for op in org.records["operatories"]:
            if not op["active"] and day >= anchor:
                continue  # closed operatories keep only their history
            zone = ZoneInfo(locations[op["location"]["id"]]["timeZone"])
            for record in _day_of(rng, new, day, zone, op):
                if not op["active"]:
                    planted["inactiveOperatoryAppointments"].append(record["id"])
                yield record
    for op in (o for o in org.records["operatories"] if o["active"] and o["shortName"] == "OP1"):
        zone = ZoneInfo(locations[op["location"]["id"]]["timeZone"])
        for day, local_start, local_end in _DST_DAYS:
            record = new(op, _at(day, local_start, zone), _at(day, local_end, zone), title="Emergency")
            planted["dstAppointments"].append(record["id"])
            yield record
    first_op = next(o for o in org.records["operatories"] if o["active"])
    zone = ZoneInfo(locations[first_op["location"]["id"]]["timeZone"])
    start = _at(anchor, time(10, 0), zone)
    for _ in range(2):
        record = new(first_op, start, start + timedelta(minutes=60), title="Comp Exam")
        planted["doubleBooked"].append(record["id"])
        yield record


def _at(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


def _day_of(
    rng: random.Random, new: _AppointmentFactory, day: date, zone: ZoneInfo, op: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    cursor = _at(day, time(8, 0), zone)
    closing = _at(day, time(17, 0), zone)
    while cursor < closing:
        if rng.random() < 0.2:
            minutes = rng.choice((30, 45, 60, 90))
            yield new(op, cursor, cursor + timedelta(minutes=minutes))
            cursor += timedelta(minutes=minutes)
        else:
            cursor += timedelta(minutes=30)


class _AppointmentFactory:
    def __init__(self, rng: random.Random, ids: _Ids, anchor: date, org: OrgSeed) -> None:
        self.rng, self.ids, self.anchor, self.org = rng, ids, anchor, org
        self.providers = [p for p in org.records["providers"] if p["active"]]

    def __call__(
        self, op: dict[str, Any], start: datetime, end: datetime, title: str | None = None
    ) -> dict[str, Any]:
        rng = self.rng
        start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
        return {
            "id": self.ids.take("appointments"),
            "type": "AppointmentV1",
            "title": title or rng.choice(_TITLES),
            "start": format_instant(start_utc),
            "end": format_instant(end_utc),
            "duration": int((end_utc - start_utc).total_seconds() // 60),
            "status": self._status(start.date()),
            "patient": _stub(rng.choice(self.org.records["patients"])),
            "provider": _stub(rng.choice(self.providers)),
            "operatory": _stub(op),
            "location": dict(op["location"]),
            "other": rng.choice(_NOTES) if rng.random() < 0.15 else None,
            "lastModified": _modified(rng, self.anchor),
        }

    def _status(self, day: date) -> str:
        if day < self.anchor:
            return self.rng.choices(("COMPLETED", "MISSED", "CANCELLED", "BROKEN"), weights=(85, 5, 7, 3))[0]
        if day == self.anchor:
            return self.rng.choice(("HERE", "CHAIR", "CONFIRMED", "COMPLETED"))
        return self.rng.choices(("UNCONFIRMED", "CONFIRMED", "CANCELLED"), weights=(55, 40, 5))[0]
