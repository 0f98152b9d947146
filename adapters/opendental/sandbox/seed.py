"""The seeded Open Dental offices: each its own database, reached by its own customer key.

- **Riverside Dental Group** uses clinics: Manhattan (America/New_York), Chicago (America/Chicago), Phoenix
  (America/Phoenix, no DST) and a hidden, closed Brooklyn clinic; each open clinic has three operatories and a
  hidden, retired one.
- **Aspen Family Dentistry** (America/Denver) uses no clinics: ``/clinics`` is empty, every ClinicNum is 0.

Each office has providers, appointment types, the appointment-confirmation definitions and the preferences
that name them, a few hundred (or dozen) patients and weeks of appointments around an anchor date: past ones
complete, broken or on the unscheduled list, the anchor day's arriving and seated, future ones scheduled,
confirmed or not; plus planned appointments and schedule notes (``Planned``, ``PtNote``: no appointments).

Deterministic: one ``random.Random(seed)`` drives everything, and every date is relative to the anchor
(:data:`DEFAULT_ANCHOR` here; the sandbox itself anchors on today unless told otherwise).

Planted on purpose, per office, in :attr:`OfficeData.planted`:

- ``dstAppointments``: in the first operatory of the first clinic, starts at 01:30 (60 minutes, across the
  change) and 02:30 (a reading that does not exist where DST applies) on 2026-03-08, and 00:30 (180 minutes)
  and 01:30 (a reading that happens twice) on 2026-11-01;
- ``doubleBooked``: two appointments in one operatory and slot (17:30-18:30 on the anchor day);
- ``hiddenOperatoryAppointments``: past appointments in hidden operatories;
- ``notAppointments``: planned appointments and schedule notes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from adapters.opendental.sandbox.wire import EMPTY_DATETIME, format_datetime
from adapters.sandbox.seeding import fake_person, token_string

__all__ = [
    "CONFIRMATIONS",
    "DEFAULT_ANCHOR",
    "DEFAULT_VERSION",
    "RESOURCES",
    "OfficeData",
    "SeedData",
    "build_seed",
]

DEFAULT_ANCHOR = date(2026, 3, 2)  # a Monday, the week of the 2026-03-08 US daylight-saving start
DEFAULT_VERSION = "24.3.36.0"
Record = dict[str, Any]
RESOURCES = (
    "clinics", "operatories", "providers", "appointmenttypes", "definitions", "preferences", "patients",
    "appointments",
)  # fmt: skip


@dataclass(frozen=True)
class _Clinic:
    description: str
    abbr: str
    city: str
    state: str
    zipcode: str
    zone: str
    area: str
    hidden: bool = False


@dataclass(frozen=True)
class _Office:
    name: str
    zone: str
    city: str
    state: str
    zipcode: str
    area: str
    patients: int
    clinics: tuple[_Clinic, ...] = ()


_OFFICES = (
    _Office(
        "Riverside Dental Group", "America/New_York", "New York", "NY", "10018", "212", 200,
        clinics=(
            _Clinic("Riverside Manhattan", "RVM", "New York", "NY", "10018", "America/New_York", "212"),
            _Clinic("Riverside Chicago", "RVC", "Chicago", "IL", "60601", "America/Chicago", "312"),
            _Clinic("Riverside Phoenix", "RVP", "Phoenix", "AZ", "85004", "America/Phoenix", "602"),
            _Clinic("Riverside Brooklyn (closed)", "RVB", "Brooklyn", "NY", "11201", "America/New_York", "646",
                    hidden=True),
        ),
    ),
    _Office("Aspen Family Dentistry", "America/Denver", "Denver", "CO", "80202", "720", 70),
)  # fmt: skip
_OPERATORIES = (("Op 1", "OP1", False, False), ("Op 2", "OP2", False, False), ("Hygiene 1", "HYG1", False, True),
                ("Op 4 (retired)", "OP4", True, False))  # fmt: skip
_PROVIDERS = (("DOC", 263), ("DOC", 263), ("HYG", 264))
_TYPES = (("Comp Exam", "//XXXX//"), ("Periodic Exam", "/XX/"), ("Adult Prophy", "//XXXXXX//"),
          ("Child Prophy", "/XXXX/"), ("Crown Prep", "//XXXXXXXXXXXX//"), ("Composite Filling", "/XXXXXX/"),
          ("Root Canal", "//XXXXXXXXXXXXXXXX//"), ("Emergency", "/XXXX/"))  # fmt: skip
# Definitions of the category ApptConfirmed (2), in their order: the first is every new appointment's.
CONFIRMATIONS = ((19, "Not Called", "NC"), (20, "Unconfirmed", "UC"), (21, "Appointment Confirmed", "C"),
                 (22, "Left Message", "LM"), (23, "eConfirm Sent", "eS"), (24, "eConfirm Declined", "eD"),
                 (25, "eConfirm Failed", "eF"))  # fmt: skip
_E_CONFIRM = {"ApptEConfirmStatusSent": 23, "ApptEConfirmStatusAccepted": 21,
              "ApptEConfirmStatusDeclined": 24, "ApptEConfirmStatusSendFailed": 25}  # fmt: skip
_NOTES = ("Prefers morning visits", "Premedication required", "Bring insurance card", "Anxious patient")
_WINDOW_DAYS = (-14, 21)
_DST = (
    (date(2026, 3, 8), ((time(1, 30), 12), (time(2, 30), 6))),
    (date(2026, 11, 1), ((time(0, 30), 36), (time(1, 30), 6))),
)


@dataclass
class OfficeData:
    number: int  # which office (1-based); its records' ids are its own, as in any database
    name: str
    customer_key: str
    zone: str  # where the office is meant to be; the PMS never says it
    clinic_zones: dict[int, str]  # ClinicNum -> zone (empty for an office without clinics)
    records: dict[str, list[Record]] = field(default_factory=dict)
    planted: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class SeedData:
    seed: int
    anchor: date
    offices: list[OfficeData]


def build_seed(seed: int = 42, anchor: date = DEFAULT_ANCHOR, *, version: str = DEFAULT_VERSION) -> SeedData:
    rng = random.Random(seed)
    offices = [_office(rng, anchor, number, spec, version) for number, spec in enumerate(_OFFICES, start=1)]
    return SeedData(seed, anchor, offices)


def _office(rng: random.Random, anchor: date, number: int, spec: _Office, version: str) -> OfficeData:
    data = OfficeData(number, spec.name, token_string(rng, 16).upper(), spec.zone, {})
    data.records = {resource: [] for resource in RESOURCES}
    data.planted = {"dstAppointments": [], "doubleBooked": [], "hiddenOperatoryAppointments": [],
                    "notAppointments": []}  # fmt: skip
    records = data.records
    clinics = [_clinic(rng, n, c) for n, c in enumerate(spec.clinics, start=1)]
    data.clinic_zones = {c["ClinicNum"]: s.zone for c, s in zip(clinics, spec.clinics, strict=True)}
    records["clinics"] = clinics
    records["providers"] = [_provider(rng, anchor, n, kind) for n, kind in enumerate(_PROVIDERS, start=1)]
    open_clinics = [c["ClinicNum"] for c in clinics if c["IsHidden"] == "false"] or [0]
    ops = [
        _operatory(i, clinic, o) for i, clinic in enumerate(open_clinics) for o in range(len(_OPERATORIES))
    ]
    records["operatories"] = ops
    records["appointmenttypes"] = [
        _type(n, name, pattern) for n, (name, pattern) in enumerate(_TYPES, start=1)
    ]
    records["definitions"] = [
        {
            "DefNum": num,
            "Category": 2,
            "ItemOrder": order,
            "ItemName": name,
            "ItemValue": value,
            "IsHidden": "false",
        }
        for order, (num, name, value) in enumerate(CONFIRMATIONS)
    ]
    prefs = {
        **{k: str(v) for k, v in _E_CONFIRM.items()},
        "ProgramVersion": version,
        "PracticeTitle": spec.name,
    }
    records["preferences"] = [{"PrefName": k, "ValueString": v} for k, v in prefs.items()]
    records["patients"] = [_patient(rng, anchor, n, spec, open_clinics) for n in range(1, spec.patients + 1)]
    records["appointments"] = list(_Schedule(rng, anchor, records, data.planted).build(open_clinics[0]))
    return data


def _stamp(rng: random.Random, anchor: date) -> str:
    base = datetime.combine(anchor, time(0, 0)) - timedelta(days=40)
    return format_datetime(base + timedelta(seconds=rng.randint(0, 35 * 86400)))


def _phone(number: str | None) -> str:
    return f"({number[:3]}){number[3:6]}-{number[6:]}" if number else ""


def _clinic(rng: random.Random, number: int, spec: _Clinic) -> Record:
    return {
        "ClinicNum": number,
        "Description": spec.description,
        "Abbr": spec.abbr,
        "Address": f"{rng.randint(100, 999)} Main St",
        "Address2": f"Suite {rng.randint(100, 400)}",
        "City": spec.city,
        "State": spec.state,
        "Zip": spec.zipcode,
        "Phone": _phone(f"{spec.area}55501{rng.randint(0, 99):02d}"),
        "IsHidden": "true" if spec.hidden else "false",
    }


def _provider(rng: random.Random, anchor: date, number: int, kind: tuple[str, int]) -> Record:
    person = fake_person(rng, today=anchor, serial=number)
    prefix, specialty = kind
    abbr = f"{prefix}{sum(1 for p, _ in _PROVIDERS[:number] if p == prefix)}"
    return {
        "ProvNum": number,
        "Abbr": abbr,
        "LName": person.last_name,
        "FName": person.first_name,
        "MI": "",
        "Suffix": "DDS" if prefix == "DOC" else "RDH",
        "Specialty": specialty,
        "IsSecondary": "true" if prefix == "HYG" else "false",
        "IsHidden": "false",
        "ProvStatus": "Active",
        "Birthdate": "0001-01-01",
        "DateTStamp": _stamp(rng, anchor),
    }


def _operatory(clinic_index: int, clinic: int, index: int) -> Record:
    name, abbr, hidden, hygiene = _OPERATORIES[index]
    number = clinic_index * len(_OPERATORIES) + index + 1
    return {
        "OperatoryNum": number,
        "OpName": name,
        "Abbrev": abbr,
        "ItemOrder": index,
        "IsHidden": "true" if hidden else "false",
        "ProvDentist": 0 if hygiene else 1,
        "ProvHygienist": 3 if hygiene else 0,
        "IsHygiene": "true" if hygiene else "false",
        "ClinicNum": clinic,
        "SetProspective": "false",
        "IsWebSched": "false",
    }


def _type(number: int, name: str, pattern: str) -> Record:
    return {
        "AppointmentTypeNum": number,
        "AppointmentTypeName": name,
        "AppointmentTypeColor": "0,0,0",
        "ItemOrder": number - 1,
        "IsHidden": "false",
        "Pattern": pattern,
        "CodeStr": "",
    }


def _patient(rng: random.Random, anchor: date, number: int, spec: _Office, clinics: list[int]) -> Record:
    person = fake_person(rng, today=anchor, serial=number)
    gender = {"M": "Male", "F": "Female", "O": "Other"}[person.sex]
    return {
        "PatNum": number,
        "LName": person.last_name,
        "FName": person.first_name,
        "MiddleI": person.middle_name or "",
        "Preferred": person.preferred_name or "",
        "PatStatus": rng.choices(("Patient", "Inactive", "NonPatient", "Prospective"), weights=(88, 6, 3, 3))[
            0
        ],
        "Gender": gender if rng.random() > 0.03 else "Unknown",
        "Position": "Single",
        "Birthdate": person.date_of_birth.isoformat(),
        "SSN": "",
        "Address": person.street,
        "Address2": person.street2 or "",
        "City": spec.city,
        "State": spec.state,
        "Zip": spec.zipcode,
        "HmPhone": _phone(person.alt_phone),
        "WkPhone": "",
        "WirelessPhone": _phone(person.phone),
        "Guarantor": number,
        "Email": person.email if rng.random() < 0.85 else "",
        "PriProv": 1,
        "ChartNumber": "",
        "ClinicNum": rng.choice(clinics),
        "TxtMsgOk": "Unknown",
        "AddrNote": rng.choice(_NOTES) if rng.random() < 0.1 else "",
        "DateTStamp": _stamp(rng, anchor),
        "SecDateEntry": (anchor - timedelta(days=rng.randint(60, 3000))).isoformat(),
    }


def _at(day: date, at: time) -> datetime:
    return datetime.combine(day, at)


class _Schedule:
    """The appointments of one office: a few weeks of days in every operatory, then the planted ones."""

    def __init__(
        self,
        rng: random.Random,
        anchor: date,
        records: dict[str, list[Record]],
        planted: dict[str, list[int]],
    ) -> None:
        self.rng, self.anchor, self.planted = rng, anchor, planted
        self.next_id = 1
        self.patients = [p["PatNum"] for p in records["patients"] if p["PatStatus"] == "Patient"]
        self.ops = records["operatories"]

    def build(self, first_clinic: int) -> Iterator[Record]:
        visible = [op for op in self.ops if op["ClinicNum"] == first_clinic and op["IsHidden"] == "false"]
        first, second = visible[:2]
        for offset in range(*_WINDOW_DAYS):
            day = self.anchor + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            for op in self.ops:
                if op["IsHidden"] == "true" and day >= self.anchor:
                    continue  # hidden operatories keep only their history
                yield from self._day(day, op)
            if offset % 5 == 0:
                yield self._note(day, first)
        yield from self._planned()
        for day, slots in _DST:
            for start, length in slots:
                record = self._new(first, _at(day, start), "X" * length, status="Scheduled")
                self.planted["dstAppointments"].append(record["AptNum"])
                yield record
        for _ in range(2):
            record = self._new(second, _at(self.anchor, time(17, 30)), "X" * 12, status="Scheduled")
            self.planted["doubleBooked"].append(record["AptNum"])
            yield record

    def _day(self, day: date, op: Record) -> Iterator[Record]:
        rng = self.rng
        cursor, closing = _at(day, time(8, 0)), _at(day, time(17, 0))
        while cursor < closing:
            type_num = rng.randrange(len(_TYPES)) + 1
            pattern = _TYPES[type_num - 1][1]
            end = cursor + timedelta(minutes=5 * len(pattern))
            if rng.random() < 0.35 and end <= closing:
                record = self._new(op, cursor, pattern, type_num=type_num)
                if op["IsHidden"] == "true":
                    self.planted["hiddenOperatoryAppointments"].append(record["AptNum"])
                yield record
                cursor = end
            else:
                cursor += timedelta(minutes=30)

    def _note(self, day: date, op: Record) -> Record:
        record = self._new(op, _at(day, time(12, 0)), "XXXXXX", status="PtNote")
        record["Note"] = "Call the lab about the crown"
        self.planted["notAppointments"].append(record["AptNum"])
        return record

    def _planned(self) -> Iterator[Record]:
        for _ in range(6):
            record = self._new(self.ops[0], _at(self.anchor, time(0, 0)), "//XXXX//", status="Planned")
            record.update(AptDateTime=EMPTY_DATETIME, Op=0)
            self.planted["notAppointments"].append(record["AptNum"])
            yield record

    def _new(
        self, op: Record, start: datetime, pattern: str, *, type_num: int = 1, status: str | None = None
    ) -> Record:
        rng = self.rng
        booked = start - timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 8))
        record: Record = {
            "AptNum": self.next_id,
            "PatNum": rng.choice(self.patients),
            "AptStatus": status or "Scheduled",
            "Pattern": pattern,
            "Confirmed": 19,
            "Op": op["OperatoryNum"],
            "Note": rng.choice(_NOTES) if rng.random() < 0.15 else "",
            "ProvNum": 3 if op["IsHygiene"] == "true" else rng.choice((1, 2)),
            "ProvHyg": 0,
            "AptDateTime": format_datetime(start),
            "NextAptNum": 0,
            "UnschedStatus": 0,
            "IsNewPatient": "true" if rng.random() < 0.05 else "false",
            "ProcDescript": _TYPES[type_num - 1][0],
            "ClinicNum": op["ClinicNum"],
            "IsHygiene": op["IsHygiene"],
            "DateTStamp": format_datetime(booked),
            "DateTimeArrived": EMPTY_DATETIME,
            "DateTimeSeated": EMPTY_DATETIME,
            "DateTimeDismissed": EMPTY_DATETIME,
            "DateTimeAskedToArrive": EMPTY_DATETIME,
            "colorOverride": "0,0,0",
            "AppointmentTypeNum": type_num,
            "SecDateTEntry": format_datetime(booked),
            "Priority": "Normal",
            "PatternSecondary": "",
        }
        self.next_id += 1
        if status is None:
            self._progress(record, start, start + timedelta(minutes=5 * len(pattern)))
        return record

    def _progress(self, record: Record, start: datetime, end: datetime) -> None:
        rng, day = self.rng, start.date()
        if day < self.anchor:
            record["AptStatus"] = rng.choices(("Complete", "Broken", "UnschedList"), weights=(85, 7, 8))[0]
            stage = 3 if record["AptStatus"] == "Complete" else 0
        elif day == self.anchor:
            stage = rng.choice((0, 1, 2, 3))
            record["AptStatus"] = "Complete" if stage == 3 else "Scheduled"
        else:
            record["AptStatus"] = "ASAP" if rng.random() < 0.08 else "Scheduled"
            record["Priority"] = "ASAP" if record["AptStatus"] == "ASAP" else "Normal"
            record["Confirmed"] = rng.choices((21, 19, 20, 22), weights=(45, 30, 15, 10))[0]
            stage = 0
        if stage >= 1:
            record["DateTimeArrived"] = format_datetime(start - timedelta(minutes=rng.randint(0, 15)))
        if stage >= 2:
            record["DateTimeSeated"] = format_datetime(start + timedelta(minutes=rng.randint(0, 10)))
        if stage >= 3:
            record["DateTimeDismissed"] = format_datetime(end)
