"""The Open Dental sandbox over real HTTP: the dialect enforced as the API would (keys, paging capped at 100,
dates, booleans, plain-text errors, 201 + Location, partial PUTs), the throttle, the faults every sandbox has
and the admin read-out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters.opendental.sandbox import API_BASE, OpenDentalSandbox, SandboxConfig
from adapters.opendental.sandbox.keys import CREDENTIAL_CHECK_PATH
from adapters.opendental.sandbox.seed import DEFAULT_ANCHOR
from adapters.sandbox.runner import RunningServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[OpenDentalSandbox, RunningServer]]:
    sandbox = OpenDentalSandbox(SandboxConfig(seed=42, anchor=DEFAULT_ANCHOR, rate_per_second=0))
    server = sandbox.run_in_thread()
    yield sandbox, server
    server.stop()


@pytest.fixture
def sandbox(running: tuple[OpenDentalSandbox, RunningServer]) -> Iterator[OpenDentalSandbox]:
    yield running[0]
    running[0].reset_faults()
    running[0].request_log.clear()


def _authorization(sandbox: OpenDentalSandbox, office: int = 0) -> str:
    return f"ODFHIR {sandbox.config.developer_key}/{sandbox.seed_data.offices[office].customer_key}"


@pytest.fixture
def http(
    running: tuple[OpenDentalSandbox, RunningServer], sandbox: OpenDentalSandbox
) -> Iterator[httpx.Client]:
    headers = {"Authorization": _authorization(sandbox)}
    with httpx.Client(base_url=running[1].base_url + API_BASE, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def admin(running: tuple[OpenDentalSandbox, RunningServer]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running[1].base_url, timeout=10) as client:
        yield client


def _plain(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"].startswith("text/plain")
    return response.status_code, response.text


def _new_appointment(**over: Any) -> dict[str, Any]:
    return {"PatNum": 1, "Op": 1, "AptDateTime": "2028-01-04 09:00:00", "Pattern": "XXXXXX", **over}


# ---- keys --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer abc",
        "ODFHIR onlyonekey",
        "ODFHIR od-sandbox-developer-key/UNKNOWNCUSTOMER",
        "ODFHIR wrong/key",
    ],
)
def test_a_wrong_authorization_is_401_in_plain_text(http: httpx.Client, header: str) -> None:
    status, text = _plain(http.get("/patients", headers={"Authorization": header}))
    assert status == 401
    assert "ODFHIR" in text or "Invalid" in text


def test_each_customer_key_opens_its_own_office(http: httpx.Client, sandbox: OpenDentalSandbox) -> None:
    riverside = http.get("/clinics").json()
    aspen = http.get("/clinics", headers={"Authorization": _authorization(sandbox, 1)}).json()
    assert [c["Description"] for c in riverside][:3] == [
        "Riverside Manhattan",
        "Riverside Chicago",
        "Riverside Phoenix",
    ]
    assert aspen == []  # an office that does not use clinics


def test_a_lapsed_validation_is_checked_again_and_logged(
    http: httpx.Client, admin: httpx.Client, sandbox: OpenDentalSandbox
) -> None:
    http.get("/clinics")
    admin.post("/_admin/faults", json={"specs": ["expire_tokens,count=1"]})
    since = time.time()
    assert http.get("/clinics").status_code == 200
    assert http.get("/clinics").status_code == 200
    lines = admin.get("/_admin/requests", params={"since": since}).json()["requests"]
    assert [
        (line["method"], line["path"], line["status"])
        for line in lines
        if line["path"] == CREDENTIAL_CHECK_PATH
    ] == [("POST", CREDENTIAL_CHECK_PATH, 200)]


# ---- lists, dates, paging ------------------------------------------------------------------------------------


def test_lists_are_bare_arrays_paged_by_limit_and_offset(http: httpx.Client) -> None:
    first = http.get("/patients").json()
    assert isinstance(first, list)
    assert len(first) == 100
    second = http.get("/patients", params={"Offset": 100}).json()
    tail = http.get("/patients", params={"Offset": 200}).json()
    ids = [p["PatNum"] for p in first + second + tail]
    assert ids == list(range(1, 201))
    assert [p["PatNum"] for p in http.get("/patients", params={"Limit": 3, "Offset": 5}).json()] == [6, 7, 8]


@pytest.mark.parametrize(
    ("params", "explanation"),
    [
        ({"Limit": 101}, "Limit must be a number from 1 to 100."),
        ({"Limit": 500}, "Limit must be a number from 1 to 100."),
        ({"dateStart": "2026-3-2"}, "dateStart is not a valid date. Use the format yyyy-MM-dd."),
        ({"date": "03/02/2026"}, "date is not a valid date. Use the format yyyy-MM-dd."),
        ({"DateTStamp": "2026-03-02T10:00:00Z"}, "DateTStamp is not a valid date."),
        ({"AptStatus": "Cancelled"}, "AptStatus must be one of"),
        ({"StartDate": "2026-03-02"}, "StartDate is not a valid parameter for this method."),
    ],
)
def test_a_page_over_100_or_a_bad_date_is_refused(
    http: httpx.Client, params: dict[str, Any], explanation: str
) -> None:
    status, text = _plain(http.get("/appointments", params=params))
    assert status == 400
    assert text.startswith(explanation)


def test_appointments_by_day_show_times_office_local_and_empty_dates(http: httpx.Client) -> None:
    day = http.get("/appointments", params={"date": "2026-03-02", "ClinicNum": 1}).json()
    assert day
    assert {a["AptDateTime"][:10] for a in day} == {"2026-03-02"}
    assert all(len(a["AptDateTime"]) == 19 and "T" not in a["AptDateTime"] for a in day)
    assert {
        a["DateTimeArrived"]
        for a in day
        if a["AptStatus"] == "Scheduled" and a["DateTimeArrived"].startswith("0001")
    }
    assert {a["IsHygiene"] for a in day} <= {"true", "false"}
    assert {"confirmed", "provAbbr", "serverDateTime"} <= day[0].keys()


# ---- writes ------------------------------------------------------------------------------------------------


def test_post_answers_201_with_the_record_and_its_location(http: httpx.Client) -> None:
    created = http.post("/appointments", json=_new_appointment(Note="first [pms-relay:ref=cmd-post]"))
    assert created.status_code == 201
    body = created.json()
    assert created.headers["Location"].endswith(f"{API_BASE}/appointments/{body['AptNum']}")
    assert (body["AptStatus"], body["Confirmed"], body["confirmed"], body["ClinicNum"]) == (
        "Scheduled", 19, "Not Called", 1,
    )  # fmt: skip
    assert http.get(created.headers["Location"]).json()["AptNum"] == body["AptNum"]


def test_put_leaves_omitted_fields_alone(http: httpx.Client) -> None:
    created = http.post(
        "/appointments", json=_new_appointment(Note="keep me", AptDateTime="2028-01-05 09:00:00")
    ).json()
    updated = http.put(f"/appointments/{created['AptNum']}", json={"Pattern": "XXXXXXXXXXXX"})
    assert updated.status_code == 200
    again = http.get(f"/appointments/{created['AptNum']}").json()
    assert (again["Pattern"], again["Note"], again["AptDateTime"]) == (
        "XXXXXXXXXXXX",
        "keep me",
        "2028-01-05 09:00:00",
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("POST", "/appointments", _new_appointment(PatNum=987654), (400, "PatNum is invalid.")),
        ("POST", "/appointments", _new_appointment(Op=4), (400, "Op is a hidden operatory.")),
        ("POST", "/appointments", _new_appointment(AptDateTime="2028-01-04T09:00"), (400, "AptDateTime is not a valid date and time. Use the format yyyy-MM-dd HH:mm:ss.")),
        ("POST", "/appointments", _new_appointment(IsNewPatient=False), (400, 'IsNewPatient must be either "true" or "false".')),
        ("POST", "/patients", {"FName": "A", "LName": "B", "Email": "nope"}, (400, "Email is not a valid email address.")),
        ("PUT", "/appointments/987654", {"Note": "x"}, (404, "Appointment not found.")),
        ("PUT", "/patients/%2E%2E", {"Email": "x@example.org"}, (404, "Patient not found.")),
        ("PUT", "/appointments/1/Break", {"breakType": "Late"}, (400, "breakType must be one of: Missed, Cancelled.")),
    ],
)  # fmt: skip
def test_refusals_are_plain_text_explanations(
    http: httpx.Client, method: str, path: str, body: dict[str, Any], expected: tuple[int, str]
) -> None:
    assert _plain(http.request(method, path, json=body)) == expected


def test_confirm_and_break(http: httpx.Client) -> None:
    apt = http.post("/appointments", json=_new_appointment(AptDateTime="2028-01-06 09:00:00")).json()[
        "AptNum"
    ]
    confirmed = http.put(f"/appointments/{apt}/Confirm", json={"confirmVal": "Confirmed"}).json()
    assert (confirmed["Confirmed"], confirmed["confirmed"]) == (21, "Appointment Confirmed")
    assert (
        http.put(f"/appointments/{apt}/Break", json={"breakType": "Missed"}).json()["AptStatus"] == "Broken"
    )
    assert _plain(http.put(f"/appointments/{apt}/Break", json={"breakType": "Missed"})) == (
        400,
        "The appointment is already broken.",
    )


# ---- faults and the admin read-out ---------------------------------------------------------------------------


def test_a_lost_response_is_applied_once(http: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/_admin/faults", json={"specs": ["lost_response,method=POST,path=/appointments,count=1"]})
    with pytest.raises(httpx.HTTPError):
        http.post(
            "/appointments",
            json=_new_appointment(AptDateTime="2028-01-07 09:00:00", Note="[pms-relay:ref=cmd-lost]"),
        )
    counted = admin.get("/_admin/count", params={"reference": "cmd-lost"}).json()
    assert counted["count"] == 1
    (record,) = counted["records"]
    shown = admin.get(
        f"/_admin/records/appointments/{record['id']}", params={"office": record["office"]}
    ).json()
    assert shown["record"]["Note"] == "[pms-relay:ref=cmd-lost]"


def test_stale_reads_lag_lists_not_single_reads(http: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/_admin/faults", json={"specs": ["stale_reads,lag_ms=60000,method=POST,count=1"]})
    created = http.post("/patients", json={"FName": "Stale", "LName": "Probe"}).json()
    assert http.get(f"/patients/{created['PatNum']}").status_code == 200
    assert created["PatNum"] not in {
        p["PatNum"] for p in http.get("/patients", params={"LName": "Probe"}).json()
    }


@pytest.mark.parametrize(("status", "retry_after"), [(503, None), (429, "3")])
def test_injected_errors_are_plain_text(
    http: httpx.Client, admin: httpx.Client, status: int, retry_after: str | None
) -> None:
    spec = "error,status=503,count=1" if status == 503 else "rate_limit,retry_after_s=3,count=1"
    admin.post("/_admin/faults", json={"specs": [spec]})
    response = http.get("/clinics")
    assert _plain(response)[0] == status
    assert response.headers.get("Retry-After") == retry_after


def test_summary_and_reset(admin: httpx.Client) -> None:
    summary = admin.post("/_admin/reset", json={"seed": 42, "anchor": "2026-03-02"}).json()
    riverside, aspen = summary["offices"]
    assert (riverside["timeZone"], aspen["timeZone"], aspen["clinics"]) == (
        "America/New_York",
        "America/Denver",
        [],
    )
    assert {c["timeZone"] for c in riverside["clinics"]} == {
        "America/New_York",
        "America/Chicago",
        "America/Phoenix",
    }
    assert riverside["planted"]["dstAppointments"]
    assert summary["ratePerSecond"] == 0


# ---- the throttle and the gateway ----------------------------------------------------------------------------


def test_about_one_request_a_second_per_key() -> None:
    sandbox = OpenDentalSandbox(SandboxConfig(seed=42, anchor=DEFAULT_ANCHOR, rate_per_second=1.0))
    with (
        sandbox.run_in_thread() as server,
        httpx.Client(base_url=server.base_url + API_BASE, timeout=10) as http,
    ):
        riverside, aspen = ({"Authorization": _authorization(sandbox, n)} for n in (0, 1))
        assert http.get("/clinics", headers=riverside).status_code == 200
        assert http.get("/clinics", headers=aspen).status_code == 200  # another key: its own pace
        too_soon = http.get("/clinics", headers=riverside)
        assert _plain(too_soon)[0] == 429
        assert too_soon.headers["Retry-After"] == "1"
        time.sleep(1.0)  # the throttle is on the real clock: wait out the Retry-After it asked for
        assert http.get("/clinics", headers=riverside).status_code == 200


def test_an_answer_later_than_the_gateway_allows_is_a_504() -> None:
    sandbox = OpenDentalSandbox(
        SandboxConfig(seed=42, anchor=DEFAULT_ANCHOR, rate_per_second=0, gateway_timeout_s=0.5)
    )
    with (
        sandbox.run_in_thread() as server,
        httpx.Client(base_url=server.base_url, timeout=10) as admin,
        httpx.Client(
            base_url=server.base_url + API_BASE,
            headers={"Authorization": _authorization(sandbox)},
            timeout=10,
        ) as http,
    ):
        admin.post("/_admin/faults", json={"specs": ["hang,seconds=3,then=answer,count=1"]})
        assert _plain(http.get("/clinics")) == (504, "The request timed out after 0.5 seconds.")
        assert http.get("/clinics").status_code == 200
        lines = admin.get("/_admin/requests").json()["requests"]
        assert [line["status"] for line in lines if line["path"].endswith("/clinics")] == [504, 200]
