"""The seeded Eaglesoft database: several practices (each meant to be in its own time zone, which the PMS
does not know), chairs including hidden ones, providers with string codes, a few hundred patients, several
weeks of appointments and schedule blocks around an anchor date.

Deterministic: one ``random.Random(seed)`` drives everything, and every date is relative to the anchor
(:data:`DEFAULT_ANCHOR`, Monday 2026-03-02, the week of the 2026-03-08 US daylight-saving start, unless
given), never to today. The sandbox itself anchors on today unless told otherwise, so that this week's
schedule has appointments; pass the anchor for a reproducible run.

Planted on purpose, listed in :attr:`SeedData.planted`:

- ``dstAppointments``: in every practice's first chair, 01:30-03:30 and 02:30-03:00 (a reading that does not
  exist where DST applies) on 2026-03-08, and 00:30-02:30 and 01:30-02:00 (a reading that happens twice) on
  2026-11-01;
- ``doubleBooked``: two appointments in the same chair and slot (17:30-18:30 on the anchor day) per practice;
- ``hiddenChairAppointments``: past appointments in hidden chairs;
- ``blocks``: schedule blocks (``Classification`` 2, no patient): a lunch block every working day.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from adapters.eaglesoft.sandbox.wire import format_time
from adapters.sandbox.seeding import fake_person

__all__ = ["DEFAULT_ANCHOR", "PracticeSpec", "SeedData", "build_seed"]

DEFAULT_ANCHOR = date(2026, 3, 2)
Record = dict[str, Any]


@dataclass(frozen=True)
class PracticeSpec:
    name: str
    city: str
    state: str
    zipcode: str
    zone: str  # where the practice is meant to be; the PMS never says it
    area: str
    patients: int


_PRACTICES = (
    PracticeSpec("Lakeside Family Dental", "Chicago", "IL", "60601", "America/Chicago", "312", 100),
    PracticeSpec("Hudson Dental Arts", "New York", "NY", "10018", "America/New_York", "212", 80),
    PracticeSpec("Desert Bloom Dentistry", "Phoenix", "AZ", "85004", "America/Phoenix", "602", 60),
    PracticeSpec("Harbor Smiles", "Santa Monica", "CA", "90401", "America/Los_Angeles", "213", 60),
)
_CHAIRS = (("Chair 1", "N"), ("Chair 2", "N"), ("Hygiene 1", "N"), ("Chair 4 (retired)", "Y"))
_PROVIDER_KINDS = (("DDS", "Doctor", "General Dentistry"), ("DDS", "Doctor", "Endodontics"),
                   ("RDH", "Hygienist", "Hygiene"))  # fmt: skip
_TYPES = ("Adult Prophy", "Comp Exam", "Periodic Exam", "Crown Prep", "Composite Filling", "Root Canal",
          "Child Prophy", "Bitewings", "Implant Consult", "Emergency")  # fmt: skip
_NOTES = ("Prefers morning visits", "Premedication required", "Bring insurance card", "Anxious patient")
_WINDOW_DAYS = (-14, 21)
_DST = (
    (date(2026, 3, 8), ((time(1, 30), time(3, 30)), (time(2, 30), time(3, 0)))),
    (date(2026, 11, 1), ((time(0, 30), time(2, 30)), (time(1, 30), time(2, 0)))),
)
FIRST_IDS = {"patients": 1001, "appointments": 50_001}


@dataclass
class SeedData:
    seed: int
    anchor: date
    zones: dict[int, str]  # PracticeId -> IANA zone the practice is meant to be in
    records: dict[str, list[Record]]  # practices, chairs, providers, patients, appointments
    planted: dict[str, list[int]] = field(default_factory=dict)


def build_seed(seed: int = 42, anchor: date = DEFAULT_ANCHOR) -> SeedData:
    rng = random.Random(seed)
    data = SeedData(seed, anchor, {}, {k: [] for k in ("practices", "chairs", "providers", "patients",
                                                       "appointments")})  # fmt: skip
    data.planted = {"dstAppointments": [], "doubleBooked": [], "hiddenChairAppointments": [], "blocks": []}
    ids = {"chair": 1, "patients": FIRST_IDS["patients"], "appointments": FIRST_IDS["appointments"]}
    codes: dict[str, int] = {}
    for practice_id, spec in enumerate(_PRACTICES, start=1):
        data.zones[practice_id] = spec.zone
        data.records["practices"].append(_practice(rng, practice_id, spec))
        chairs = [_chair(ids, practice_id, name, hidden) for name, hidden in _CHAIRS]
        providers = [_provider(rng, anchor, codes, practice_id, n) for n in range(len(_PROVIDER_KINDS))]
        patients = [_patient(rng, anchor, ids, practice_id, spec) for _ in range(spec.patients)]
        data.records["chairs"] += chairs
        data.records["providers"] += providers
        data.records["patients"] += patients
        data.records["appointments"] += _appointments(rng, anchor, ids, chairs, providers, patients, data)
    return data


def _take(ids: dict[str, int], key: str) -> int:
    value = ids[key]
    ids[key] = value + 1
    return value


def _practice(rng: random.Random, practice_id: int, spec: PracticeSpec) -> Record:
    return {
        "PracticeId": practice_id,
        "Name": spec.name,
        "Address1": f"{rng.randint(100, 999)} Main St",
        "Address2": f"Suite {rng.randint(100, 400)}",
        "City": spec.city,
        "State": spec.state,
        "Zipcode": spec.zipcode,
        "Phone": f"{spec.area}55501{rng.randint(0, 99):02d}",
    }


def _chair(ids: dict[str, int], practice_id: int, name: str, hidden: str) -> Record:
    return {"ChairNum": _take(ids, "chair"), "ChairName": name, "PracticeId": practice_id, "Hidden": hidden}


def _provider(rng: random.Random, anchor: date, codes: dict[str, int], practice_id: int, n: int) -> Record:
    prefix, title, specialty = _PROVIDER_KINDS[n]
    codes[prefix] = codes.get(prefix, 0) + 1
    person = fake_person(rng, today=anchor, serial=n)
    return {
        "ProviderId": f"{prefix}{codes[prefix]}",
        "FirstName": person.first_name,
        "LastName": person.last_name,
        "Title": title,
        "Specialty": specialty,
        "Status": "I" if n == 1 and practice_id % 2 == 0 else "A",
        "PracticeId": practice_id,
    }


def _modified(rng: random.Random, anchor: date) -> str:
    base = datetime.combine(anchor, time(0, 0)) - timedelta(days=40)
    return format_time(base + timedelta(seconds=rng.randint(0, 35 * 86400)))


def _patient(
    rng: random.Random, anchor: date, ids: dict[str, int], practice_id: int, spec: PracticeSpec
) -> Record:
    patient_id = _take(ids, "patients")
    person = fake_person(rng, today=anchor, serial=patient_id)
    sex = person.sex if person.sex in ("M", "F") else rng.choice(("M", "F"))
    return {
        "PatientId": patient_id,
        "FirstName": person.first_name,
        "LastName": person.last_name,
        "MiddleInitial": person.middle_name[0] if person.middle_name else None,
        "PreferredName": person.preferred_name,
        "BirthDate": person.date_of_birth.isoformat(),
        "Sex": sex,
        "Status": rng.choices(("A", "I"), weights=(88, 12))[0],
        "PatientStatus": rng.choices(("Y", "N"), weights=(97, 3))[0],
        "CellPhone": person.phone,
        "HomePhone": person.alt_phone,
        "WorkPhone": f"{spec.area}55501{rng.randint(0, 99):02d}" if rng.random() < 0.15 else None,
        "EmailAddress": person.email if rng.random() < 0.85 else None,
        "Address1": person.street,
        "Address2": person.street2,
        "City": spec.city,
        "State": spec.state,
        "Zipcode": spec.zipcode[:3] + f"{rng.randint(0, 99):02d}",
        "ReceivesSms": rng.choice(("Y", "N")),
        "PracticeId": practice_id,
        "PatientNotes": rng.choice(_NOTES) if rng.random() < 0.1 else None,
        "DateModified": _modified(rng, anchor),
    }


def _appointments(
    rng: random.Random,
    anchor: date,
    ids: dict[str, int],
    chairs: list[Record],
    providers: list[Record],
    patients: list[Record],
    data: SeedData,
) -> Iterator[Record]:
    new = _AppointmentFactory(rng, anchor, ids, providers, patients)
    first = chairs[0]
    for offset in range(*_WINDOW_DAYS):
        day = anchor + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        block = new.block(first, _at(day, time(12, 0)), _at(day, time(13, 0)), "Lunch")
        data.planted["blocks"].append(block["AppointmentId"])
        yield block
        for chair in chairs:
            if chair["Hidden"] == "Y" and day >= anchor:
                continue  # hidden chairs keep only their history
            for record in _day_of(rng, new, day, chair, lunch_free=chair is first):
                if chair["Hidden"] == "Y":
                    data.planted["hiddenChairAppointments"].append(record["AppointmentId"])
                yield record
    for day, slots in _DST:
        for start, end in slots:
            record = new(first, _at(day, start), _at(day, end), type_index=9)
            data.planted["dstAppointments"].append(record["AppointmentId"])
            yield record
    for _ in range(2):
        record = new(chairs[1], _at(anchor, time(17, 30)), _at(anchor, time(18, 30)), type_index=1)
        data.planted["doubleBooked"].append(record["AppointmentId"])
        yield record


def _at(day: date, at: time) -> datetime:
    return datetime.combine(day, at)


def _day_of(
    rng: random.Random, new: _AppointmentFactory, day: date, chair: Record, *, lunch_free: bool
) -> Iterator[Record]:
    cursor, closing = _at(day, time(8, 0)), _at(day, time(17, 0))
    while cursor < closing:
        minutes = rng.choice((30, 45, 60, 90))
        end = cursor + timedelta(minutes=minutes)
        lunch = lunch_free and cursor < _at(day, time(13, 0)) and end > _at(day, time(12, 0))
        if rng.random() < 0.35 and not lunch and end <= closing:
            yield new(chair, cursor, end)
            cursor = end
        else:
            cursor += timedelta(minutes=30)


class _AppointmentFactory:
    def __init__(
        self,
        rng: random.Random,
        anchor: date,
        ids: dict[str, int],
        providers: list[Record],
        patients: list[Record],
    ) -> None:
        self.rng, self.anchor, self.ids = rng, anchor, ids
        self.doctors = [p for p in providers if p["Status"] == "A" and p["Title"] == "Doctor"]
        self.hygienists = [p for p in providers if p["Status"] == "A" and p["Title"] == "Hygienist"]
        self.patients = [p for p in patients if p["Status"] == "A"]

    def _base(self, chair: Record, start: datetime, end: datetime) -> Record:
        return {
            "AppointmentId": _take(self.ids, "appointments"),
            "PatientId": None,
            "PracticeId": chair["PracticeId"],
            "LocationId": chair["ChairNum"],
            "StartTime": format_time(start),
            "EndTime": format_time(end),
            "Classification": 2,
            "AppointmentTypeId": None,
            "Description": None,
            "AppointmentNotes": None,
            "DateAppointed": format_time(start - timedelta(days=30)),
            "DateConfirmed": None,
            "ConfirmationStatus": 0,
            "AppointmentArrivalStatus": 0,
            "ArrivalTime": None,
            "InchairTime": None,
            "WalkoutTime": None,
            "SoonerIfPossible": "N",
            "Providers": [],
            "DateModified": format_time(start - timedelta(days=1)),
        }

    def block(self, chair: Record, start: datetime, end: datetime, description: str) -> Record:
        return {**self._base(chair, start, end), "Description": description}

    def __call__(
        self, chair: Record, start: datetime, end: datetime, type_index: int | None = None
    ) -> Record:
        rng = self.rng
        kind = rng.randrange(len(_TYPES)) if type_index is None else type_index
        record = self._base(chair, start, end)
        providers = [{"ProviderId": rng.choice(self.doctors)["ProviderId"], "Primary": "Y"}]
        if self.hygienists and rng.random() < 0.3:
            providers.append({"ProviderId": rng.choice(self.hygienists)["ProviderId"], "Primary": "N"})
        booked = start - timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 8))
        record.update(
            PatientId=str(rng.choice(self.patients)["PatientId"]),
            Classification=1,
            AppointmentTypeId=kind + 1,
            Description=_TYPES[kind],
            AppointmentNotes=rng.choice(_NOTES) if rng.random() < 0.15 else None,
            DateAppointed=format_time(booked),
            SoonerIfPossible="Y" if rng.random() < 0.1 else "N",
            Providers=providers,
            DateModified=format_time(booked),
        )
        self._progress(record, start, end)
        return record

    def _progress(self, record: Record, start: datetime, end: datetime) -> None:
        rng, day = self.rng, start.date()
        confirmation = rng.choices((0, 1, 2, 3), weights=(40, 45, 10, 5))[0] if day >= self.anchor else 1
        record["ConfirmationStatus"] = confirmation
        if confirmation == 1:
            record["DateConfirmed"] = format_time(start - timedelta(days=2))
        if day < self.anchor:
            arrival = rng.choices((4, 5, 3), weights=(88, 7, 5))[0]
        elif day == self.anchor:
            arrival = rng.choice((0, 1, 2, 4))
        else:
            arrival = 0
        record["AppointmentArrivalStatus"] = arrival
        if arrival in (1, 2, 3, 4):
            record["ArrivalTime"] = format_time(start - timedelta(minutes=rng.randint(0, 15)))
        if arrival in (2, 3, 4):
            record["InchairTime"] = format_time(start + timedelta(minutes=rng.randint(0, 10)))
        if arrival in (3, 4):
            record["WalkoutTime"] = format_time(end)
