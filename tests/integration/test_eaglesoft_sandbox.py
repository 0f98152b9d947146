"""The Eaglesoft sandbox over real HTTP: session, scoping, paging, asynchronous writes and every fault mode.

Most tests run on a clock the test pushes forward, so a write stays Pending until the test says otherwise;
one test uses the real clock and the default delay and polls, bounded, for the outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from adapters.eaglesoft.sandbox import API_BASE, EaglesoftSandbox, SandboxConfig
from adapters.eaglesoft.sandbox.seed import DEFAULT_ANCHOR
from adapters.sandbox.runner import RunningServer

pytestmark = pytest.mark.integration

DELAY_S = 10.0  # every write resolves this long after it was accepted (on the test's clock)
CREDENTIALS = {"IntegrationKey": "es-sandbox-integration-key", "UserId": "relay", "Password": "sandbox"}


class Clock:
    """Monotonic time plus an offset the tests push forward (write delays, session expiry, read lags)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def running(clock: Clock) -> Iterator[tuple[EaglesoftSandbox, RunningServer]]:
    config = SandboxConfig(seed=42, anchor=DEFAULT_ANCHOR, write_delay_ms=(DELAY_S * 1000, DELAY_S * 1000))
    sandbox = EaglesoftSandbox(config, clock=clock)
    server = sandbox.run_in_thread()
    yield sandbox, server
    server.stop()


@pytest.fixture
def sandbox(running: tuple[EaglesoftSandbox, RunningServer]) -> Iterator[EaglesoftSandbox]:
    sb = running[0]
    yield sb
    sb.reset_faults()
    sb.request_log.clear()


@pytest.fixture
def http(
    running: tuple[EaglesoftSandbox, RunningServer], sandbox: EaglesoftSandbox
) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running[1].base_url + API_BASE, timeout=5) as client:
        yield client


@pytest.fixture
def admin(running: tuple[EaglesoftSandbox, RunningServer]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running[1].base_url, timeout=5) as client:
        yield client


@contextmanager
def _served(config: SandboxConfig) -> Iterator[httpx.Client]:
    """A sandbox of its own, on the real clock, and a client of its API."""
    with (
        EaglesoftSandbox(config).run_in_thread() as server,
        httpx.Client(base_url=server.base_url + API_BASE, timeout=5) as http,
    ):
        yield http


def _login(http: httpx.Client) -> str:
    response = http.post("/session", json=CREDENTIALS)
    assert response.status_code == 200, response.text
    return str(response.json()["SessionToken"])


@pytest.fixture
def headers(http: httpx.Client) -> dict[str, str]:
    return {"X-Session-Token": _login(http), "X-Practice-Id": "1"}


def _all_pages(http: httpx.Client, path: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    number = 1
    while True:
        page = http.get(path, headers=headers, params={**params, "PageNumber": number}).json()
        items += page["Items"]
        if number * page["PageSize"] >= page["TotalCount"]:
            assert len(items) == page["TotalCount"]
            return items
        number += 1


def _write(http: httpx.Client, headers: dict[str, str], write_id: str) -> dict[str, Any]:
    response = http.get(f"/writes/{write_id}", headers=headers)
    assert response.status_code == 200
    return dict(response.json())


def _accepted(response: httpx.Response) -> str:
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["Status"] == "Pending"
    assert response.headers["Location"] == f"{API_BASE}/writes/{body['WriteId']}"
    return str(body["WriteId"])


def _count(admin: httpx.Client, reference: str) -> int:
    return int(admin.get("/_admin/count", params={"reference": reference}).json()["count"])


def _new_patient(reference: str) -> dict[str, Any]:
    return {"FirstName": "Test", "LastName": "Sandbox", "BirthDate": "1980-05-17", "PatientNotes": reference}


def _appointment(
    patient_id: str, chair: int, reference: str, start: str = "2026-03-20T09:00:00"
) -> dict[str, Any]:
    return {
        "PatientId": patient_id,
        "LocationId": chair,
        "StartTime": start,
        "EndTime": start[:11] + "10:00:00",
        "Providers": [{"ProviderId": "DDS1", "Primary": "Y"}],
        "AppointmentNotes": reference,
    }


def _a_patient(http: httpx.Client, headers: dict[str, str]) -> str:
    return str(http.get("/patients", headers=headers, params={"Status": "A"}).json()["Items"][0]["PatientId"])


# ---- session, system, scoping --------------------------------------------------------------------------


def test_session_flow(http: httpx.Client, admin: httpx.Client, clock: Clock) -> None:
    wrong = http.post("/session", json={**CREDENTIALS, "Password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json()["ErrorCode"] == "InvalidCredentials"
    assert http.get("/patients", headers={"X-Practice-Id": "1"}).json()["ErrorCode"] == "SessionExpired"
    body = http.post("/session", json=CREDENTIALS).json()
    assert len(body["ExpiresAt"]) == 19
    assert "+" not in body["ExpiresAt"]
    assert "Z" not in body["ExpiresAt"]
    headers = {"X-Session-Token": body["SessionToken"], "X-Practice-Id": "1"}
    assert http.get("/patients", headers=headers).status_code == 200
    assert admin.post("/_admin/sessions/revoke").json()["revoked"] >= 1
    revoked = http.get("/patients", headers=headers)
    assert (revoked.status_code, revoked.json()["ErrorCode"]) == (401, "SessionExpired")
    headers["X-Session-Token"] = _login(http)
    clock.advance(3601)  # past the session lifetime
    assert http.get("/patients", headers=headers).status_code == 401


def test_system_reports_the_version_without_a_session(http: httpx.Client) -> None:
    body = http.get("/system").json()
    assert body["Version"] == "21.20.05"
    assert body["ProductName"] == "Eaglesoft"


def test_old_version_refuses_writes_but_serves_reads() -> None:
    with _served(SandboxConfig(version="17.0.1")) as http:
        headers = {"X-Session-Token": _login(http), "X-Practice-Id": "1"}
        assert http.get("/system").json()["Version"] == "17.0.1"
        assert http.get("/patients", headers=headers).status_code == 200
        refused = http.post("/patients", headers=headers, json=_new_patient("cmd-old"))
        assert (refused.status_code, refused.json()["ErrorCode"]) == (403, "VersionUnsupported")


def test_practice_scoping(http: httpx.Client, headers: dict[str, str]) -> None:
    token = headers["X-Session-Token"]
    missing = http.get("/patients", headers={"X-Session-Token": token})
    assert (missing.status_code, missing.json()["ErrorCode"]) == (400, "InvalidPracticeId")
    unknown = http.get("/patients", headers={"X-Session-Token": token, "X-Practice-Id": "99"})
    assert (unknown.status_code, unknown.json()["ErrorCode"]) == (403, "PracticeNotFound")
    other = {"X-Session-Token": token, "X-Practice-Id": "2"}
    foreign_patient = http.get("/patients", headers=other).json()["Items"][0]["PatientId"]
    assert http.get(f"/patients/{foreign_patient}", headers=headers).status_code == 404
    assert http.get(f"/patients/{foreign_patient}", headers=other).status_code == 200
    assert http.get("/practices/2/chairs", headers=headers).status_code == 404
    practices = http.get("/practices", headers=headers).json()
    assert practices["TotalCount"] == 4
    assert "TimeZone" not in practices["Items"][0]
    assert all(p["PracticeId"] == 1 for p in _all_pages(http, "/patients", headers))


def test_chairs_include_hidden_ones_and_providers_have_codes(
    http: httpx.Client, headers: dict[str, str]
) -> None:
    chairs = http.get("/practices/1/chairs", headers=headers).json()["Items"]
    assert {c["Hidden"] for c in chairs} == {"Y", "N"}
    assert all(isinstance(c["ChairNum"], int) and c["PracticeId"] == 1 for c in chairs)
    providers = http.get("/providers", headers=headers).json()["Items"]
    assert providers[0]["ProviderId"] == "DDS1"
    assert http.get("/providers/DDS1", headers=headers).json()["Status"] == "A"


# ---- paging and filters --------------------------------------------------------------------------------


def test_paging_visits_every_record_once(http: httpx.Client, headers: dict[str, str]) -> None:
    items = _all_pages(http, "/patients", headers, PageSize=7)
    ids = [p["PatientId"] for p in items]
    assert len(ids) == len(set(ids)) == http.get("/patients", headers=headers).json()["TotalCount"]
    assert ids == sorted(ids)
    past_end = http.get("/patients", headers=headers, params={"PageNumber": 999}).json()
    assert past_end["Items"] == []
    assert past_end["TotalCount"] == len(ids)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"PageSize": "201"}, "PageSize"),
        ({"PageNumber": "0"}, "PageNumber"),
        ({"Surname": "x"}, "Surname"),
        ({"BirthDate": "17/05/1980"}, "BirthDate"),
    ],
)
def test_bad_parameters_answer_400_naming_the_parameter(
    http: httpx.Client, headers: dict[str, str], params: dict[str, str], named: str
) -> None:
    response = http.get("/patients", headers=headers, params=params)
    assert response.status_code == 400
    assert response.json()["ErrorCode"] == "InvalidParameter"
    assert named in response.json()["Message"]


def test_patient_filters(http: httpx.Client, headers: dict[str, str]) -> None:
    someone = http.get("/patients", headers=headers).json()["Items"][3]
    found = http.get(
        "/patients",
        headers=headers,
        params={"LastName": someone["LastName"][:3].lower(), "BirthDate": someone["BirthDate"]},
    ).json()["Items"]
    assert someone["PatientId"] in [p["PatientId"] for p in found]
    phone = someone["CellPhone"]
    by_phone = http.get(
        "/patients", headers=headers, params={"Phone": f"({phone[:3]}) {phone[3:6]}-{phone[6:]}"}
    )
    assert someone["PatientId"] in [p["PatientId"] for p in by_phone.json()["Items"]]


def test_appointment_window_holds_the_dst_edge_cases(
    http: httpx.Client, headers: dict[str, str], sandbox: EaglesoftSandbox
) -> None:
    items = _all_pages(http, "/appointments", headers, StartDate="2026-03-08", EndDate="2026-03-08")
    starts = {a["StartTime"] for a in items}
    assert {"2026-03-08T01:30:00", "2026-03-08T02:30:00"} <= starts  # 02:30 does not exist in Chicago
    fall = _all_pages(
        http, "/appointments", headers, StartDate="2026-11-01T01:00:00", EndDate="2026-11-01T02:00:00"
    )
    assert {a["StartTime"] for a in fall} == {"2026-11-01T00:30:00", "2026-11-01T01:30:00"}
    zoned = http.get("/appointments", headers=headers, params={"StartDate": "2026-03-08T00:00:00Z"})
    assert zoned.status_code == 400
    blocks = http.get("/appointments", headers=headers, params={"Classification": 2}).json()["Items"]
    assert blocks
    assert all(b["PatientId"] is None for b in blocks)
    appointment = http.get("/appointments", headers=headers, params={"Classification": 1}).json()["Items"][0]
    assert isinstance(appointment["PatientId"], str)
    assert appointment["Providers"][0]["Primary"] == "Y"


# ---- asynchronous writes -------------------------------------------------------------------------------


def test_create_is_pending_then_completed(
    http: httpx.Client, headers: dict[str, str], admin: httpx.Client, clock: Clock
) -> None:
    write_id = _accepted(http.post("/patients", headers=headers, json=_new_patient("cmd-create-1")))
    pending = _write(http, headers, write_id)
    assert (pending["Status"], pending["EntityId"], pending["Operation"]) == ("Pending", None, "Create")
    assert _count(admin, "cmd-create-1") == 0
    clock.advance(DELAY_S)
    done = _write(http, headers, write_id)
    assert done["Status"] == "Completed"
    assert isinstance(done["EntityId"], int)
    patient = http.get(f"/patients/{done['EntityId']}", headers=headers).json()
    assert (patient["Status"], patient["PatientStatus"], patient["PracticeId"]) == ("A", "Y", 1)
    assert _count(admin, "cmd-create-1") == 1
    other_practice = {**headers, "X-Practice-Id": "2"}
    assert http.get(f"/writes/{write_id}", headers=other_practice).status_code == 404


def test_update_is_partial_and_a_second_write_is_locked(
    http: httpx.Client, headers: dict[str, str], clock: Clock
) -> None:
    patient = http.get("/patients", headers=headers).json()["Items"][1]
    path = f"/patients/{patient['PatientId']}"
    write_id = _accepted(
        http.put(path, headers=headers, json={"CellPhone": "312-555-0199", "PatientId": patient["PatientId"]})
    )
    locked = http.put(path, headers=headers, json={"FirstName": "Other"})
    assert (locked.status_code, locked.json()["ErrorCode"]) == (409, "RecordLocked")
    clock.advance(DELAY_S)
    assert _write(http, headers, write_id)["Status"] == "Completed"
    after = http.get(path, headers=headers).json()
    assert after["CellPhone"] == "3125550199"
    assert after["LastName"] == patient["LastName"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"FirstName": "A"}, "ValidationFailed"),  # LastName missing
        ({"FirstName": "A", "LastName": "B", "Shoe": 4}, "UnknownField"),
        ({"FirstName": "A", "LastName": "B", "Sex": "X"}, "ValidationFailed"),
        ({"FirstName": "A", "LastName": "B", "PracticeId": 2}, "UnknownField"),
    ],
)
def test_synchronous_validation(
    http: httpx.Client, headers: dict[str, str], body: dict[str, Any], code: str
) -> None:
    response = http.post("/patients", headers=headers, json=body)
    assert (response.status_code, response.json()["ErrorCode"]) == (400, code)


def test_cancel_deletes_and_then_answers_404(
    http: httpx.Client, headers: dict[str, str], admin: httpx.Client, clock: Clock
) -> None:
    patient_id = _a_patient(http, headers)
    create = _accepted(
        http.post("/appointments", headers=headers, json=_appointment(patient_id, 2, "cmd-cancel-1"))
    )
    clock.advance(DELAY_S)
    appointment_id = _write(http, headers, create)["EntityId"]
    stored = http.get(f"/appointments/{appointment_id}", headers=headers).json()
    assert (stored["PatientId"], stored["LocationId"], stored["StartTime"]) == (
        patient_id,
        2,
        "2026-03-20T09:00:00",
    )
    delete = _accepted(http.delete(f"/appointments/{appointment_id}", headers=headers))
    clock.advance(DELAY_S)
    assert _write(http, headers, delete) | {"Status": "Completed", "Operation": "Delete"} == _write(
        http, headers, delete
    )
    assert http.get(f"/appointments/{appointment_id}", headers=headers).status_code == 404
    assert _count(admin, "cmd-cancel-1") == 0
    assert admin.get(f"/_admin/records/appointments/{appointment_id}").json()["deleted"] is True


def test_overlapping_bookings_are_accepted(http: httpx.Client, headers: dict[str, str], clock: Clock) -> None:
    patient_id = _a_patient(http, headers)
    first = _accepted(
        http.post(
            "/appointments",
            headers=headers,
            json=_appointment(patient_id, 1, "cmd-ovl-1", "2026-03-23T09:00:00"),
        )
    )
    second = _accepted(
        http.post(
            "/appointments",
            headers=headers,
            json=_appointment(patient_id, 1, "cmd-ovl-2", "2026-03-23T09:00:00"),
        )
    )
    clock.advance(DELAY_S)
    assert {_write(http, headers, w)["Status"] for w in (first, second)} == {"Completed"}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"PatientId": "999999"}, "InvalidPatient"),
        ({"LocationId": 4}, "InvalidChair"),  # practice 1's hidden chair
        ({"LocationId": 5}, "InvalidChair"),  # a chair of practice 2
        ({"Providers": [{"ProviderId": "DDS9", "Primary": "Y"}]}, "InvalidProvider"),
    ],
)
def test_business_failures_are_reported_later(
    http: httpx.Client,
    headers: dict[str, str],
    admin: httpx.Client,
    clock: Clock,
    change: dict[str, Any],
    code: str,
) -> None:
    reference = f"cmd-fail-{code}-{change.get('LocationId', 0)}"
    body = {**_appointment(_a_patient(http, headers), 2, reference), **change}
    write_id = _accepted(http.post("/appointments", headers=headers, json=body))
    clock.advance(DELAY_S)
    failed = _write(http, headers, write_id)
    assert (failed["Status"], failed["ErrorCode"], failed["EntityId"]) == ("Failed", code, None)
    assert failed["Reason"]
    assert "999999" not in failed["Reason"]
    assert _count(admin, reference) == 0


# ---- write faults --------------------------------------------------------------------------------------


def test_write_failed_fault(
    http: httpx.Client, headers: dict[str, str], admin: httpx.Client, clock: Clock
) -> None:
    admin.post("/_admin/faults", json={"specs": ["write_failed,count=1,path=/patients"]})
    failed = _accepted(http.post("/patients", headers=headers, json=_new_patient("cmd-wf-1")))
    passed = _accepted(http.post("/patients", headers=headers, json=_new_patient("cmd-wf-2")))
    clock.advance(DELAY_S)
    assert _write(http, headers, failed)["ErrorCode"] == "RecordLocked"
    assert _write(http, headers, passed)["Status"] == "Completed"
    assert (_count(admin, "cmd-wf-1"), _count(admin, "cmd-wf-2")) == (0, 1)
    assert admin.get("/_admin/faults").json()["writeRules"][0]["fired"] == 1


def test_write_stuck_fault(
    http: httpx.Client, headers: dict[str, str], admin: httpx.Client, clock: Clock
) -> None:
    admin.post("/_admin/faults", json={"rules": [{"kind": "write_stuck", "pending_s": 120, "count": 2}]})
    completes = _accepted(http.post("/patients", headers=headers, json=_new_patient("cmd-stuck-1")))
    admin.post("/_admin/faults", json={"specs": ["write_stuck,pending_s=120,then=failed"]})
    fails = _accepted(http.post("/patients", headers=headers, json=_new_patient("cmd-stuck-2")))
    clock.advance(60)  # far past the normal delay
    assert {_write(http, headers, w)["Status"] for w in (completes, fails)} == {"Pending"}
    clock.advance(61)
    assert _write(http, headers, completes)["Status"] == "Completed"
    assert (_write(http, headers, fails)["Status"], _write(http, headers, fails)["ErrorCode"]) == (
        "Failed",
        "ServerBusy",
    )
    assert (_count(admin, "cmd-stuck-1"), _count(admin, "cmd-stuck-2")) == (1, 0)


def test_lost_response_write_is_applied_exactly_once(
    http: httpx.Client, headers: dict[str, str], admin: httpx.Client, clock: Clock
) -> None:
    admin.post("/_admin/faults", json={"specs": ["lost_response,method=POST,path=/patients,count=1"]})
    with pytest.raises(httpx.TransportError):
        http.post("/patients", headers=headers, json=_new_patient("cmd-lost-1"))
    clock.advance(DELAY_S)
    assert _count(admin, "cmd-lost-1") == 1
    found = http.get("/patients", headers=headers, params={"NotesContains": "cmd-lost-1"}).json()
    assert found["TotalCount"] == 1
    lost = [
        w
        for w in admin.get("/_admin/writes").json()["writes"]
        if w["EntityId"] == found["Items"][0]["PatientId"]
    ]
    assert [w["Status"] for w in lost] == ["Completed"]


# ---- shared faults -------------------------------------------------------------------------------------


def test_error_and_rate_limit_faults(
    http: httpx.Client, headers: dict[str, str], admin: httpx.Client
) -> None:
    # A terminal rule that fired hides the later terminal rules from that request: refuse skips one, not two.
    admin.post(
        "/_admin/faults", json={"specs": ["error,status=503,count=1", "rate_limit,retry_after_s=2,count=1"]}
    )
    unavailable = http.get("/patients", headers=headers)
    assert (unavailable.status_code, unavailable.json()["ErrorCode"]) == (503, "ServiceUnavailable")
    limited = http.get("/patients", headers=headers)
    assert (limited.status_code, limited.json()["ErrorCode"], limited.headers["Retry-After"]) == (
        429,
        "TooManyRequests",
        "2",
    )
    assert http.get("/patients", headers=headers).status_code == 200
    faults = [
        r["faults"]
        for r in admin.get("/_admin/requests", params={"path": API_BASE + "/patients"}).json()["requests"]
    ]
    assert faults == [["error"], ["rate_limit"], []]


def test_latency_hang_and_refuse_faults(
    http: httpx.Client, headers: dict[str, str], admin: httpx.Client
) -> None:
    admin.post(
        "/_admin/faults",
        json={"specs": ["latency,ms=20,count=1", "hang,seconds=1,count=1,skip=1", "refuse,count=1,skip=1"]},
    )
    assert http.get("/system").status_code == 200
    with pytest.raises(httpx.ReadTimeout):
        http.get("/system", timeout=0.3)
    with pytest.raises(httpx.TransportError):
        http.get("/system")
    assert http.get("/system").status_code == 200
    fired = [r["kind"] for r in admin.get("/_admin/faults").json()["rules"] if r["fired"] == 1]
    assert fired == ["latency", "hang", "refuse"]


def test_outage_refuses_connections_then_recovers(
    admin: httpx.Client, running: tuple[EaglesoftSandbox, RunningServer]
) -> None:
    assert admin.post("/_admin/outage", json={"seconds": 0.5}).json()["listener_closed"] is True
    with httpx.Client(base_url=running[1].base_url + API_BASE, timeout=2) as fresh:
        _poll(lambda: _refused(fresh))
        _poll(lambda: not _refused(fresh))


def _refused(client: httpx.Client) -> bool:
    try:
        client.get("/system", headers={"Connection": "close"})
    except httpx.TransportError:
        return True
    return False


def _poll(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_session_expiry_fault(http: httpx.Client, headers: dict[str, str], admin: httpx.Client) -> None:
    admin.post("/_admin/faults", json={"specs": ["expire_tokens,count=1,skip=1"]})
    assert http.get("/patients", headers=headers).status_code == 200
    assert http.get("/patients", headers=headers).json()["ErrorCode"] == "SessionExpired"
    assert http.get("/patients", headers={**headers, "X-Session-Token": _login(http)}).status_code == 200


def test_stale_reads_fault(
    http: httpx.Client, headers: dict[str, str], admin: httpx.Client, clock: Clock
) -> None:
    admin.post("/_admin/faults", json={"specs": ["stale_reads,lag_ms=30000,method=POST|PUT"]})
    write_id = _accepted(http.post("/patients", headers=headers, json=_new_patient("cmd-stale-1")))
    clock.advance(DELAY_S)
    patient_id = _write(http, headers, write_id)["EntityId"]
    assert http.get(f"/patients/{patient_id}", headers=headers).status_code == 200  # by id: at once
    listed = http.get("/patients", headers=headers, params={"NotesContains": "cmd-stale-1"}).json()
    assert listed["TotalCount"] == 0  # lists trail
    clock.advance(30)
    listed = http.get("/patients", headers=headers, params={"NotesContains": "cmd-stale-1"}).json()
    assert listed["TotalCount"] == 1


# ---- determinism, reset, the real clock ----------------------------------------------------------------


def test_same_seed_same_world_and_reset_restores_it(admin: httpx.Client) -> None:
    first = EaglesoftSandbox(SandboxConfig(seed=7, anchor=DEFAULT_ANCHOR))
    again = EaglesoftSandbox(SandboxConfig(seed=7, anchor=DEFAULT_ANCHOR))
    other = EaglesoftSandbox(SandboxConfig(seed=8, anchor=DEFAULT_ANCHOR))
    assert first.store.list_visible(1, "appointments") == again.store.list_visible(1, "appointments")
    assert first.store.list_visible(1, "patients") != other.store.list_visible(1, "patients")
    before = admin.post("/_admin/reset", json={"seed": 42}).json()
    assert before["practices"][0]["timeZone"] == "America/Chicago"
    assert before["planted"]["dstAppointments"]
    assert before["planted"]["blocks"]
    assert _count(admin, "cmd-create-1") == 0


def test_default_delay_completes_on_the_real_clock() -> None:
    with _served(SandboxConfig(seed=3)) as http:
        headers = {"X-Session-Token": _login(http), "X-Practice-Id": "3"}
        write_id = _accepted(http.post("/patients", headers=headers, json=_new_patient("cmd-real-1")))
        _poll(lambda: _write(http, headers, write_id)["Status"] != "Pending")
        assert _write(http, headers, write_id)["Status"] == "Completed"
