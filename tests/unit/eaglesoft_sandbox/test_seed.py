from __future__ import annotations

from collections import Counter

from adapters.eaglesoft.sandbox.seed import build_seed


def test_same_seed_same_database() -> None:
    assert build_seed(5).records == build_seed(5).records
    assert build_seed(5).records["patients"] != build_seed(6).records["patients"]


def test_shape() -> None:
    data = build_seed()
    records = data.records
    assert len(records["practices"]) == len(data.zones) >= 3
    assert len(set(data.zones.values())) == len(data.zones)  # one zone per practice
    assert len(records["patients"]) >= 200
    chairs = records["chairs"]
    assert len({c["ChairNum"] for c in chairs}) == len(chairs)  # unique in the database
    assert {c["Hidden"] for c in chairs} == {"Y", "N"}
    assert all(
        isinstance(p["ProviderId"], str) and p["ProviderId"][:3] in ("DDS", "RDH")
        for p in records["providers"]
    )
    assert all(p["Sex"] in ("M", "F") for p in records["patients"])


def test_planted_records() -> None:
    data = build_seed()
    by_id = {a["AppointmentId"]: a for a in data.records["appointments"]}
    dst_starts = Counter(by_id[i]["StartTime"][11:16] for i in data.planted["dstAppointments"])
    assert dst_starts == {"01:30": 8, "02:30": 4, "00:30": 4}
    assert all(
        by_id[i]["Classification"] == 2 and by_id[i]["PatientId"] is None for i in data.planted["blocks"]
    )
    double = [by_id[i] for i in data.planted["doubleBooked"]]
    assert len({(a["LocationId"], a["StartTime"]) for a in double}) == len(double) // 2
    hidden = {c["ChairNum"] for c in data.records["chairs"] if c["Hidden"] == "Y"}
    assert data.planted["hiddenChairAppointments"]
    assert all(by_id[i]["LocationId"] in hidden for i in data.planted["hiddenChairAppointments"])
    assert all(
        by_id[i]["StartTime"] < data.anchor.isoformat() for i in data.planted["hiddenChairAppointments"]
    )


def test_appointments_reference_their_practice() -> None:
    data = build_seed()
    practice_of = {p["PatientId"]: p["PracticeId"] for p in data.records["patients"]}
    chair_of = {c["ChairNum"]: c["PracticeId"] for c in data.records["chairs"]}
    for appointment in data.records["appointments"]:
        assert chair_of[appointment["LocationId"]] == appointment["PracticeId"]
        if appointment["PatientId"] is not None:
            assert isinstance(appointment["PatientId"], str)
            assert practice_of[int(appointment["PatientId"])] == appointment["PracticeId"]
        assert appointment["EndTime"] > appointment["StartTime"]
