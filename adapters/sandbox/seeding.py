"""Seeded synthetic people for sandboxes: obviously fake, realistic in shape, reproducible from a seed.

Every helper takes the caller's ``random.Random`` (never the global one), so one seed gives one data set.
Phone numbers use the 555-01xx range reserved for fiction; e-mail domains are the reserved ``example.*``.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["FakePerson", "fake_person", "hex_id", "token_string"]

_FIRST_F = (
    "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn", "Abigail", "Emily",
    "Ella", "Grace", "Chloe", "Camila", "Aria", "Scarlett", "Nora", "Lily", "Zoe", "Hannah", "Leah", "Maya",
    "Priya", "Mei", "Fatima", "Lucia", "Rosa", "Keiko", "Aaliyah",
)  # fmt: skip
_FIRST_M = (
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry", "Theodore", "Jack",
    "Levi", "Alexander", "Mateo", "Daniel", "Michael", "Mason", "Sebastian", "Ethan", "Logan", "Owen",
    "Samuel", "Jacob", "Diego", "Raj", "Wei", "Omar", "Kenji", "Andre", "Tomas",
)  # fmt: skip
_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green",
    "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel",
    "Kim", "O'Brien", "Smithson", "Smythe",
)  # fmt: skip
_STREETS = (
    "Maple", "Oak", "Cedar", "Pine", "Elm", "Walnut", "Willow", "Birch", "Aspen", "Juniper", "Sycamore",
    "Magnolia", "Lakeview", "Hillcrest", "Sunset", "Meadow", "Ridge", "Park", "Washington", "Lincoln",
)  # fmt: skip
_STREET_KINDS = ("St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Way")
_MAIL_DOMAINS = ("example.com", "example.net", "example.org")


@dataclass(frozen=True)
class FakePerson:
    first_name: str
    last_name: str
    middle_name: str | None
    preferred_name: str | None
    sex: str  # "M" | "F" | "O"
    date_of_birth: date
    phone: str  # 10 digits, 555-01xx exchange
    alt_phone: str | None
    email: str
    street: str
    street2: str | None


def fake_person(rng: random.Random, *, today: date, serial: int) -> FakePerson:
    """One person; ``serial`` makes e-mail addresses unique within a data set."""
    sex = rng.choices(("F", "M", "O"), weights=(48, 48, 4))[0]
    first = rng.choice(_FIRST_F if sex == "F" else _FIRST_M if sex == "M" else _FIRST_F + _FIRST_M)
    last = rng.choice(_LAST)
    middle = rng.choice(_FIRST_F + _FIRST_M) if rng.random() < 0.3 else None
    preferred = first[:3] if rng.random() < 0.1 else None
    age_days = rng.randint(2 * 365, 90 * 365)
    slug = "".join(c for c in f"{first}.{last}".lower() if c.isalnum() or c == ".")
    return FakePerson(
        first_name=first,
        last_name=last,
        middle_name=middle,
        preferred_name=preferred,
        sex=sex,
        date_of_birth=today - timedelta(days=age_days),
        phone=_phone(rng),
        alt_phone=_phone(rng) if rng.random() < 0.4 else None,
        email=f"{slug}{serial}@{rng.choice(_MAIL_DOMAINS)}",
        street=f"{rng.randint(10, 9899)} {rng.choice(_STREETS)} {rng.choice(_STREET_KINDS)}",
        street2=f"Apt {rng.randint(1, 40)}" if rng.random() < 0.2 else None,
    )


def _phone(rng: random.Random) -> str:
    area = rng.choice(("212", "312", "303", "602", "213", "415", "646", "720"))
    return f"{area}55501{rng.randint(0, 99):02d}"


def hex_id(rng: random.Random, length: int = 24) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def token_string(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(length))
