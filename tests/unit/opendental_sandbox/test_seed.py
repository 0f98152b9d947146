from __future__ import annotations

from datetime import date

from adapters.opendental.sandbox.seed import DEFAULT_ANCHOR, build_seed


def test_same_seed_same_offices() -> None:
    assert build_seed(7).offices[0].records == build_seed(7).offices[0].records
    assert build_seed(7).offices[0].records["patients"] != build_seed(8).offices[0].records["patients"]


def test_an_office_with_clinics_and_one_without() -> None:
    riverside, aspen = build_seed(42).offices
    assert riverside.clinic_zones == {1: "America/New_York", 2: "America/Chicago", 3: "America/Phoenix",
                                      4: "America/New_York"}  # fmt: skip
    assert [c["IsHidden"] for c in riverside.records["clinics"]] == ["false", "false", "false", "true"]
    assert aspen.records["clinics"] == []
    assert {op["ClinicNum"] for op in aspen.records["operatories"]} == {0}
    assert riverside.customer_key != aspen.customer_key


def test_planted_records() -> None:
    office = build_seed(42).offices[0]
    by_id = {a["AptNum"]: a for a in office.records["appointments"]}
    dst = [by_id[i] for i in office.planted["dstAppointments"]]
    assert [(a["AptDateTime"], len(a["Pattern"])) for a in dst] == [
        ("2026-03-08 01:30:00", 12), ("2026-03-08 02:30:00", 6), ("2026-11-01 00:30:00", 36), ("2026-11-01 01:30:00", 6),
    ]  # fmt: skip
    one, two = (by_id[i] for i in office.planted["doubleBooked"])
    assert (one["Op"], one["AptDateTime"]) == (two["Op"], two["AptDateTime"])
    assert {by_id[i]["AptStatus"] for i in office.planted["notAppointments"]} == {"Planned", "PtNote"}
    hidden = {op["OperatoryNum"] for op in office.records["operatories"] if op["IsHidden"] == "true"}
    assert all(by_id[i]["Op"] in hidden for i in office.planted["hiddenOperatoryAppointments"])
    assert all(
        by_id[i]["AptDateTime"] < DEFAULT_ANCHOR.isoformat()
        for i in office.planted["hiddenOperatoryAppointments"]
    )


def test_the_anchor_moves_the_schedule_and_not_the_planted_dst_dates() -> None:
    later = build_seed(42, anchor=date(2026, 12, 7)).offices[0]
    days = {
        a["AptDateTime"][:10]
        for a in later.records["appointments"]
        if a["AptStatus"] in ("Scheduled", "ASAP")
    }
    assert "2026-12-08" in days
    dst = {a["AptNum"]: a["AptDateTime"] for a in later.records["appointments"]}
    assert dst[later.planted["dstAppointments"][0]] == "2026-03-08 01:30:00"
