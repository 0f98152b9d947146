"""The Dentrix Ascend sandbox over real HTTP: dialect, scoping, paging, errors and every fault mode."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from adapters.dentrix.sandbox import API_BASE, TOKEN_PATH, DentrixSandbox, SandboxConfig
from adapters.dentrix.sandbox.seed import DEFAULT_ANCHOR
from adapters.sandbox import RunningServer

pytestmark = pytest.mark.integration

TOKEN_URL = TOKEN_PATH + "?grant_type=client_credentials"
APPTS = API_BASE + "/appointments"
PATIENTS = API_BASE + "/patients"


class Clock:
    """Monotonic time plus an offset the tests can push forward (token expiry, read lags)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def sandbox(clock: Clock) -> Iterator[tuple[DentrixSandbox, RunningServer]]:
    sb = DentrixSandbox(SandboxConfig(seed=42, anchor=DEFAULT_ANCHOR), clock=clock)
    server = sb.run_in_thread()
    yield sb, server
    server.stop()


@pytest.fixture
def server(sandbox: tuple[DentrixSandbox, RunningServer]) -> Iterator[RunningServer]:
    sb, srv = sandbox
    yield srv
    sb.engine.clear()
    sb.request_log.clear()


@pytest.fixture(scope="module")
def _shared_client(sandbox: tuple[DentrixSandbox, RunningServer]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox[1].base_url, timeout=5) as client:
        yield client


@pytest.fixture
def http(server: RunningServer, _shared_client: httpx.Client) -> httpx.Client:
    return _shared_client


@pytest.fixture(scope="module")
def summary(sandbox: tuple[DentrixSandbox, RunningServer]) -> dict[str, Any]:
    return sandbox[0].summary()


def _token(http: httpx.Client, client: dict[str, Any]) -> str:
    data = {"client_id": client["clientId"], "client_secret": client["clientSecret"]}
    response = http.post(TOKEN_URL, data=data)
    assert response.status_code == 200
    return str(response.json()["access_token"])


@pytest.fixture
def org(summary: dict[str, Any]) -> dict[str, Any]:
    return dict(summary["organizations"][0])


@pytest.fixture
def auth(http: httpx.Client, summary: dict[str, Any], org: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(http, summary['clients'][0])}", "Organization-ID": org["id"]}


def _fault(http: httpx.Client, *specs: str) -> None:
    assert http.post("/_admin/faults", json={"specs": list(specs)}).status_code == 200


def _errorcode(response: httpx.Response) -> str:
    return str(response.json()["fault"]["detail"]["errorcode"])


def _new_appointment(
    org: dict[str, Any], http: httpx.Client, auth: dict[str, str], note: str
) -> dict[str, Any]:
    patient = http.get(PATIENTS, headers=auth, params={"pageSize": 1}).json()["data"][0]
    operatory = org["locations"][0]["operatories"][0]
    return {
        "title": "Comp Exam",
        "start": "2026-03-20T15:00:00Z",
        "end": "2026-03-20T16:00:00Z",
        "duration": 60,
        "status": "UNCONFIRMED",
        "patient": {"id": patient["id"], "type": "PatientV1"},
        "operatory": {"id": operatory["id"], "type": "OperatoryV1"},
        "other": f"new patient [pms-relay:ref={note}]",
    }


def _until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# ---- token ---------------------------------------------------------------------------------------------


def test_token_flow(http: httpx.Client, summary: dict[str, Any]) -> None:
    client = summary["clients"][0]
    body = http.post(
        TOKEN_URL, data={"client_id": client["clientId"], "client_secret": client["clientSecret"]}
    )
    token = body.json()
    assert token["expires_in"] == "3599"
    assert isinstance(token["issued_at"], str)
    assert token["token_type"] == "BearerToken"
    basic = http.post(TOKEN_URL, auth=(client["clientId"], client["clientSecret"]))
    assert basic.status_code == 200


def test_token_refusals(http: httpx.Client, summary: dict[str, Any]) -> None:
    client = summary["clients"][0]
    wrong = http.post(TOKEN_URL, data={"client_id": client["clientId"], "client_secret": "nope"})
    assert (wrong.status_code, _errorcode(wrong)) == (401, "oauth.v2.InvalidClientIdentifier")
    grant = http.post(TOKEN_PATH + "?grant_type=password", data={"client_id": "a", "client_secret": "b"})
    assert (grant.status_code, _errorcode(grant)) == (400, "oauth.v2.UnsupportedGrantType")


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic abc", "Bearer"])
def test_invalid_access_token_body(
    http: httpx.Client, org: dict[str, Any], authorization: str | None
) -> None:
    headers = {"Organization-ID": org["id"]}
    if authorization:
        headers["Authorization"] = authorization
    response = http.get(PATIENTS, headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "fault": {
            "faultstring": "Invalid access token",
            "detail": {"errorcode": "oauth.v2.InvalidAccessToken"},
        }
    }


def test_tokens_expire_after_their_ttl(http: httpx.Client, auth: dict[str, str], clock: Clock) -> None:
    assert http.get(PATIENTS, headers=auth).status_code == 200
    clock.offset += 3600
    assert http.get(PATIENTS, headers=auth).status_code == 401


def test_admin_revoke(http: httpx.Client, auth: dict[str, str]) -> None:
    assert http.post("/_admin/tokens/revoke").json()["revoked"] >= 1
    assert http.get(PATIENTS, headers=auth).status_code == 401


# ---- organizations ---------------------------------------------------------------------------------------


def test_organization_header(http: httpx.Client, auth: dict[str, str], summary: dict[str, Any]) -> None:
    bearer = {"Authorization": auth["Authorization"]}
    missing = http.get(PATIENTS, headers=bearer)
    assert (missing.status_code, _errorcode(missing)) == (400, "validation.MissingOrganizationId")
    malformed = http.get(PATIENTS, headers={**bearer, "Organization-ID": "xyz"})
    assert (malformed.status_code, _errorcode(malformed)) == (400, "validation.InvalidOrganizationId")
    not_granted = summary["clients"][1]["organizationIds"][0]
    forbidden = http.get(PATIENTS, headers={**bearer, "Organization-ID": not_granted})
    assert (forbidden.status_code, _errorcode(forbidden)) == (403, "access.OrganizationNotGranted")
    unknown = http.get(PATIENTS, headers={**bearer, "Organization-ID": "ab" * 12})
    assert unknown.status_code == 403


def test_one_organization_never_sees_another(
    http: httpx.Client, auth: dict[str, str], summary: dict[str, Any]
):
    other = {**auth, "Organization-ID": summary["organizations"][1]["id"]}
    theirs = http.get(PATIENTS, headers=other, params={"pageSize": 1}).json()["data"][0]
    mine = {p["id"] for p in http.get(PATIENTS, headers=auth, params={"pageSize": 100}).json()["data"]}
    assert theirs["id"] not in mine
    response = http.get(f"{PATIENTS}/{theirs['id']}", headers=auth)
    assert (response.status_code, _errorcode(response)) == (404, "resource.NotFound")


# ---- reads, paging, filters ------------------------------------------------------------------------------


def _walk(
    http: httpx.Client, auth: dict[str, str], path: str, size: int, flt: str | None = None
) -> list[str]:
    ids: list[str] = []
    last: str | None = None
    while True:
        params: dict[str, Any] = {"pageSize": size, "responseFields": "ALL"}
        if flt:
            params["filter"] = flt
        if last:
            params["lastId"] = last
        page = http.get(path, headers=auth, params=params).json()["data"]
        ids += [record["id"] for record in page]
        if len(page) < size:
            return ids
        last = page[-1]["id"]


def test_paging_yields_every_record_once(
    http: httpx.Client, auth: dict[str, str], org: dict[str, Any]
) -> None:
    ids = _walk(http, auth, APPTS, 100)
    assert len(ids) == len(set(ids)) == org["appointmentCount"]
    assert [int(i) for i in ids] == sorted(int(i) for i in ids)
    assert any(len(i) == 6 for i in ids)
    assert any(len(i) == 7 for i in ids)
    patients = _walk(http, auth, PATIENTS, 7, flt="lastModified>=2000-01-01T00:00:00Z")
    assert len(patients) == len(set(patients)) == org["patientCount"]


def test_page_size_limits(http: httpx.Client, auth: dict[str, str], org: dict[str, Any]) -> None:
    assert len(http.get(APPTS, headers=auth).json()["data"]) == 50
    # No maximum in the record, and real clients send 500: served, not refused.
    page = http.get(APPTS, headers=auth, params={"pageSize": 500}).json()["data"]
    assert len(page) == min(500, org["appointmentCount"])
    zero = http.get(APPTS, headers=auth, params={"pageSize": 0})
    assert (zero.status_code, _errorcode(zero)) == (400, "validation.InvalidParameter")


def test_filters(http: httpx.Client, auth: dict[str, str], org: dict[str, Any]) -> None:
    operatory = org["locations"][0]["operatories"][0]["id"]
    flt = f"start>=2026-03-02T00:00:00Z,start<=2026-03-07T00:00:00Z,operatory.id->[{operatory},1],status!=BROKEN"
    page = http.get(APPTS, headers=auth, params={"filter": flt, "pageSize": 100}).json()["data"]
    assert page
    for appt in page:
        assert "2026-03-02T00:00:00Z" <= appt["start"] <= "2026-03-07T00:00:00Z"
        assert appt["operatory"] == {"id": operatory, "type": "OperatoryV1"}
        assert appt["status"] != "BROKEN"
        assert appt["location"]["type"] == "LocationV1"
    smiths = http.get(PATIENTS, headers=auth, params={"filter": "lastName~=smi"}).json()["data"]
    assert smiths
    assert all("smi" in p["lastName"].lower() for p in smiths)


@pytest.mark.parametrize("flt", ["lastName=Smith", "shoeSize==9", "id==abc", "start>=2026-03-02", "id->[1,2"])
def test_bad_filter_is_400(http: httpx.Client, auth: dict[str, str], flt: str) -> None:
    response = http.get(PATIENTS, headers=auth, params={"filter": flt})
    assert (response.status_code, _errorcode(response)) == (400, "validation.InvalidFilter")


def test_single_reads_and_404s(http: httpx.Client, auth: dict[str, str], org: dict[str, Any]) -> None:
    location = org["locations"][0]
    one = http.get(f"{API_BASE}/locations/{location['id']}", headers=auth).json()["data"]
    assert (one["type"], one["timeZone"]) == ("LocationV1", location["timeZone"])
    operatories = http.get(f"{API_BASE}/operatories", headers=auth).json()["data"]
    assert any(not op["active"] for op in operatories)
    providers = http.get(f"{API_BASE}/providers", headers=auth).json()["data"]
    assert providers
    assert {"npi", "shortName", "specialty", "active"} <= providers[0].keys()
    for path in (f"{PATIENTS}/1", f"{API_BASE}/invoices", f"{PATIENTS}/abc"):
        response = http.get(path, headers=auth)
        assert response.status_code == 404
        assert "fault" in response.json()
    assert http.post(f"{API_BASE}/locations", headers=auth, json={}).status_code == 405


# ---- writes ----------------------------------------------------------------------------------------------


def test_create_read_update_and_double_booking(
    http: httpx.Client, auth: dict[str, str], org: dict[str, Any]
) -> None:
    body = _new_appointment(org, http, auth, "cmd-crud")
    created = http.post(APPTS, headers=auth, json=body)
    assert created.status_code == 201
    record = created.json()["data"]
    assert created.headers["location"] == f"{APPTS}/{record['id']}"
    assert record["location"] == {"id": org["locations"][0]["id"], "type": "LocationV1"}
    assert http.post(APPTS, headers=auth, json=body).status_code == 201  # same chair, same slot: accepted
    updated = http.put(f"{APPTS}/{record['id']}", headers=auth, json={"status": "CONFIRMED"}).json()["data"]
    assert (updated["status"], updated["start"], updated["other"]) == (
        "CONFIRMED",
        body["start"],
        body["other"],
    )
    assert updated["lastModified"] >= record["lastModified"]
    full = {k: v for k, v in updated.items() if k not in ("id", "type", "lastModified")}
    assert http.put(f"{APPTS}/{record['id']}", headers=auth, json=full).status_code == 200
    assert http.get(f"{APPTS}/{record['id']}", headers=auth).json()["data"]["status"] == "CONFIRMED"


def test_create_patient(http: httpx.Client, auth: dict[str, str], org: dict[str, Any]) -> None:
    body = {
        "firstName": "Testa",
        "lastName": "Sandboxer",
        "dateOfBirth": "1991-04-05",
        "gender": "F",
        "phones": [{"number": "(646) 555-0199", "type": "MOBILE"}],
        "emailAddress": "testa.sandboxer@example.com",
        "state": "NY",
        "postalCode": "10018",
        "preferredLocation": {"id": org["locations"][0]["id"], "type": "LocationV1"},
        "notes": "[pms-relay:ref=cmd-patient-1]",
    }
    created = http.post(PATIENTS, headers=auth, json=body).json()["data"]
    assert (created["patientStatus"], created["type"]) == ("NEW", "PatientV1")
    assert created["chartNumber"]
    found = http.get(PATIENTS, headers=auth, params={"filter": "phones.number==6465550199"}).json()["data"]
    assert [p["id"] for p in found] == [created["id"]]
    assert http.get("/_admin/count", params={"reference": "cmd-patient-1"}).json()["count"] == 1


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"end": "2026-03-20T14:00:00Z", "duration": None}, "validation.InvalidField"),
        ({"start": None}, "validation.MissingField"),
        ({"patient": {"id": "1", "type": "PatientV1"}}, "validation.InvalidReference"),
        ({"colour": "blue"}, "validation.UnknownField"),
    ],
)
def test_validation_errors(
    http: httpx.Client, auth: dict[str, str], org: dict[str, Any], changes: dict[str, Any], code: str
) -> None:
    body = {**_new_appointment(org, http, auth, "cmd-invalid"), **changes}
    response = http.post(APPTS, headers=auth, json=body)
    assert (response.status_code, _errorcode(response)) == (400, code)
    assert "pms-relay:ref" not in response.text
    assert http.post(APPTS, headers=auth, content=b"{nope").status_code == 400


# ---- faults ----------------------------------------------------------------------------------------------


def test_5xx_burst(http: httpx.Client, auth: dict[str, str]) -> None:
    _fault(http, "error,status=503,count=2")
    statuses = [http.get(PATIENTS, headers=auth) for _ in range(3)]
    assert [r.status_code for r in statuses] == [503, 503, 200]
    assert _errorcode(statuses[0]) == "messaging.adaptors.http.flow.ServiceUnavailable"


def test_429_with_retry_after(http: httpx.Client, auth: dict[str, str]) -> None:
    _fault(http, "rate_limit,retry_after_s=2,count=1,path=/patients")
    response = http.get(PATIENTS, headers=auth)
    assert (response.status_code, response.headers["retry-after"]) == (429, "2")
    assert _errorcode(response) == "policies.ratelimit.QuotaViolation"
    assert http.get(PATIENTS, headers=auth).status_code == 200


def test_latency_is_applied_and_logged(http: httpx.Client, auth: dict[str, str]) -> None:
    _fault(http, "latency,dist=normal,p50_ms=5,p99_ms=20")
    http.get(PATIENTS, headers=auth, params={"filter": "lastName==Smith"})
    log = http.get("/_admin/requests").json()["requests"]
    assert [(r["method"], r["path"], r["status"], r["faults"]) for r in log][-1] == (
        "GET",
        PATIENTS,
        200,
        ["latency"],
    )
    assert all("?" not in r["path"] for r in log)


def test_hang_longer_than_the_client_timeout(server: RunningServer, auth: dict[str, str]) -> None:
    with httpx.Client(base_url=server.base_url, timeout=5) as admin:
        _fault(admin, "hang,seconds=2,then=drop,count=1")
    with httpx.Client(base_url=server.base_url, timeout=0.3) as client, pytest.raises(httpx.ReadTimeout):
        client.get(PATIENTS, headers=auth)


def test_hang_then_answer(http: httpx.Client, auth: dict[str, str]) -> None:
    _fault(http, "hang,seconds=0.2,then=answer,count=1")
    assert http.get(PATIENTS, headers=auth).status_code == 200


def test_refuse_drops_the_connection(http: httpx.Client, auth: dict[str, str]) -> None:
    _fault(http, "refuse,count=1")
    with pytest.raises(httpx.TransportError) as caught:
        http.get(PATIENTS, headers=auth)
    assert not isinstance(caught.value, httpx.TimeoutException)
    assert http.get(PATIENTS, headers=auth).status_code == 200
    refused = [r for r in http.get("/_admin/requests").json()["requests"] if r["faults"] == ["refuse"]]
    assert [r["status"] for r in refused] == [None]


def test_outage_refuses_connections(server: RunningServer, auth: dict[str, str]) -> None:
    with httpx.Client(base_url=server.base_url, timeout=2) as admin:
        assert admin.post("/_admin/outage", json={"seconds": 1.0}).json()["listener_closed"] is True

    def refused() -> bool:
        try:
            httpx.get(server.base_url + PATIENTS, headers=auth, timeout=1)
        except httpx.ConnectError:
            return True
        return False

    assert refused()

    def back() -> bool:
        try:
            return httpx.get(server.base_url + PATIENTS, headers=auth, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    assert _until(back, timeout=5)


def test_token_expiry_mid_run(http: httpx.Client, auth: dict[str, str], summary: dict[str, Any]) -> None:
    _fault(http, "expire_tokens,skip=1,count=1")
    assert http.get(PATIENTS, headers=auth).status_code == 200
    assert http.get(PATIENTS, headers=auth).status_code == 401
    fresh = {**auth, "Authorization": f"Bearer {_token(http, summary['clients'][0])}"}
    assert http.get(PATIENTS, headers=fresh).status_code == 200


def test_stale_reads(http: httpx.Client, auth: dict[str, str], org: dict[str, Any], clock: Clock) -> None:
    _fault(http, "stale_reads,lag_ms=30000,method=POST")
    created = http.post(APPTS, headers=auth, json=_new_appointment(org, http, auth, "cmd-stale")).json()[
        "data"
    ]
    by_id = {"filter": f"id=={created['id']}"}
    assert http.get(APPTS, headers=auth, params=by_id).json()["data"] == []
    assert http.get(f"{APPTS}/{created['id']}", headers=auth).status_code == 200
    assert http.get(f"/_admin/records/appointments/{created['id']}").json()["data"]["id"] == created["id"]
    clock.offset += 31
    assert [a["id"] for a in http.get(APPTS, headers=auth, params=by_id).json()["data"]] == [created["id"]]


def test_write_applied_but_response_lost(
    http: httpx.Client, auth: dict[str, str], org: dict[str, Any]
) -> None:
    _fault(http, "lost_response,method=POST,path=/appointments,count=1")
    body = _new_appointment(org, http, auth, "cmd-lost-1")
    with pytest.raises(httpx.TransportError):
        http.post(APPTS, headers=auth, json=body)
    count = http.get("/_admin/count", params={"reference": "cmd-lost-1"}).json()
    assert count["count"] == 1
    assert count["records"][0]["resource"] == "appointments"
    assert http.get("/_admin/count", params={"reference": "cmd-lost"}).json()["count"] == 0


def test_fault_plan_admin(http: httpx.Client) -> None:
    plan = http.post("/_admin/faults", json={"rules": [{"kind": "error", "count": 1}], "seed": 9}).json()
    assert (plan["seed"], plan["rules"][0]["kind"]) == (9, "error")
    assert http.post("/_admin/faults", json={"rules": [{"kind": "explode"}]}).status_code == 400
    assert http.delete("/_admin/faults").json()["rules"] == []


def test_reset_reseeds(http: httpx.Client, auth: dict[str, str], org: dict[str, Any]) -> None:
    created = http.post(APPTS, headers=auth, json=_new_appointment(org, http, auth, "cmd-reset")).json()[
        "data"
    ]
    summary = http.post("/_admin/reset", json={}).json()
    assert summary["organizations"][0]["appointmentCount"] == org["appointmentCount"]
    assert http.get(f"{APPTS}/{created['id']}", headers=auth).status_code == 404
    assert summary["planted"]["dstAppointments"]
