"""The tracing UI for real: Zipkin's server from Maven Central, a worker exporting with
``OTEL_TRACES_EXPORTER=zipkin``, and one command that retried once, read back from ``/api/v2/trace/{id}``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.dentrix.sandbox.harness import DentrixHarness
from adapters.sandbox.harness import Fault, FaultKind, Resource
from deploy.local.ports import free_ports
from ops.zipkin import ZipkinServer, fetch_zipkin, spans_endpoint
from schemas.envelopes import CommandType, ResultEnvelope
from tests.commands import command, payload_for
from tests.relay_system import RelaySystem, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def zipkin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZipkinServer]:
    server = ZipkinServer(fetch_zipkin(), free_ports("127.0.0.1", 1)[0], tmp_path_factory.mktemp("zipkin"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dentrix() -> Iterator[DentrixHarness]:
    harness = DentrixHarness()
    harness.start()
    yield harness
    harness.stop()


@pytest.fixture
def relay(
    kafka_bootstrap: str, tmp_path: Path, dentrix: DentrixHarness, zipkin: ZipkinServer
) -> Iterator[RelaySystem]:
    connection = dict(dentrix.connection())
    secret = {"E2E_TRACE_DX_SECRET": str(connection["client_secret"])}
    connection["client_secret"] = {"env": "E2E_TRACE_DX_SECRET"}
    practices = {
        "dx": {"pms": "dentrix", "time_zone": dentrix.known.dst_location_zone, "connection": connection}
    }
    system = RelaySystem(
        bootstrap=kafka_bootstrap,
        workdir=tmp_path,
        practices=practices,
        secrets=secret,
        worker_env={
            "OTEL_TRACES_EXPORTER": "zipkin",
            "OTEL_EXPORTER_ZIPKIN_ENDPOINT": spans_endpoint(zipkin.url),
            "OTEL_SERVICE_NAME": "pms-relay-worker",
            "OTEL_BSP_SCHEDULE_DELAY": "200",  # export within a fraction of a second, not the default 5 s
        },
    ).start()
    yield system
    system.stop()


def _trace(zipkin: ZipkinServer, trace_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{zipkin.url}/api/v2/trace/{trace_id}", timeout=5.0)
    return list(response.json()) if response.status_code == 200 else []


def _kinds(spans: list[dict[str, Any]], kind: str) -> list[str]:
    return sorted(span.get("name", "") for span in spans if span.get("kind") == kind)


def test_a_command_that_retried_once_is_one_trace_in_zipkin(
    relay: RelaySystem, dentrix: DentrixHarness, zipkin: ZipkinServer
) -> None:
    # One stream attempt's in-call tries (3) all answer 503: the command goes through tier 1 and succeeds.
    dentrix.set_faults(Fault(FaultKind.SERVER_ERROR, resource=Resource.PATIENTS, count=3))
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    cmd = command("dx", CommandType.SEARCH_PATIENTS, payload_for(CommandType.SEARCH_PATIENTS, dentrix.known))
    sent = relay.send(cmd, headers=[("traceparent", f"00-{trace_id}-{parent}-01".encode())])
    answer = relay.wait_for([sent], timeout=60)[sent].envelope
    assert isinstance(answer, ResultEnvelope)
    assert answer.attempts == 2

    commands, tier = relay.topics.commands, relay.topics.retries[0]
    wanted = {f"process {commands}", f"process {tier}"}

    def complete() -> bool:
        spans = _trace(zipkin, trace_id)
        producers = set(_kinds(spans, "PRODUCER"))
        return (
            wanted <= set(_kinds(spans, "CONSUMER"))
            and {f"send {tier}", f"send {relay.topics.results}"} <= producers
            and len(_kinds(spans, "CLIENT")) >= 2
        )

    wait_until(complete, timeout=30, what=f"trace {trace_id} complete in Zipkin", interval=0.5)
    spans = _trace(zipkin, trace_id)
    assert {span["traceId"] for span in spans} == {trace_id}  # one trace across both hops
    assert _kinds(spans, "CONSUMER") == sorted(wanted)
    clients = _kinds(spans, "CLIENT")
    assert sum("/patients" in name for name in clients) >= 2  # the failed attempt's call and the good one
    failed = [
        s
        for s in spans
        if s.get("kind") == "CLIENT" and s.get("tags", {}).get("http.response.status_code") == "503"
    ]
    assert failed, "the 503s of the first attempt are in the trace"
    by_name = {span["name"]: span for span in spans if span.get("kind") == "CONSUMER"}
    assert by_name[f"process {commands}"]["tags"].get("pms.retry.tier") == "0"
    assert by_name[f"process {tier}"]["tags"].get("pms.outcome")
    assert {span["localEndpoint"]["serviceName"] for span in spans} == {"pms-relay-worker"}

    text = repr([(span.get("name"), span.get("tags"), span.get("annotations")) for span in spans])
    phi = [*dentrix.known.phi, dentrix.known.patient_last_name, dentrix.known.patient_first_name]
    assert [value for value in phi if value and value in text] == []
