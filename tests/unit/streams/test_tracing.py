"""One trace per command across every hop, and no patient data in any span attribute."""

from __future__ import annotations

from datetime import date

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from adapters.domain import PatientSearchQuery
from adapters.errors import Unavailable
from schemas.envelopes import CommandType, SearchPatientsPayload
from tests.unit.streams.fakes import Harness, command

_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
_PARENT = f"00-{_TRACE_ID}-00f067aa0ba902b7-01"
_PATIENT_DATA = ("Zephyrine", "Quillfeather", "1961-07-04", "zq.marker@example.invalid", "5550142")


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    memory = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # the first test to need one installs it for the process
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> InMemorySpanExporter:
    exporter.clear()
    return exporter


def _search() -> SearchPatientsPayload:
    return SearchPatientsPayload(
        query=PatientSearchQuery(
            first_name="Zephyrine",
            last_name="Quillfeather",
            date_of_birth=date(1961, 7, 4),
            email="zq.marker@example.invalid",
            phone="5550142",
        )
    )


async def test_one_trace_follows_a_command_through_its_retries(
    harness: Harness, spans: InMemorySpanExporter
) -> None:
    harness.dentrix.will("search_patients", Unavailable("503"), Unavailable("503"))
    envelope = command(CommandType.SEARCH_PATIENTS, payload=_search())
    encoded = harness.original(envelope)
    traced = type(encoded)(*(getattr(encoded, f) for f in ("topic", "partition", "offset", "key", "value")),
                           headers=[*encoded.headers, ("traceparent", _PARENT.encode())])  # fmt: skip
    await harness.feed(traced)
    await harness.drain()

    assert [r.attempts for r in harness.results()] == [3]
    finished: tuple[ReadableSpan, ...] = spans.get_finished_spans()
    consumers = [s for s in finished if s.kind is SpanKind.CONSUMER]
    producers = [s for s in finished if s.kind is SpanKind.PRODUCER]
    assert len(consumers) == 3  # the original and two retry copies
    assert {f"{s.context.trace_id:032x}" for s in finished} == {_TRACE_ID}
    assert {s.name for s in producers} >= {"send pms.commands.retry.10s", "send pms.results"}
    for span in consumers:
        assert span.attributes is not None
        assert span.attributes["messaging.system"] == "kafka"
        assert span.attributes["messaging.message.id"] == str(envelope.command_id)
    # Each answer and retry copy carries the trace onward.
    for sent in harness.outbox.sent:
        parents = [v for k, v in sent.message.headers if k == "traceparent"]
        assert len(parents) == 1
        assert parents[0].decode().split("-")[1] == _TRACE_ID


async def test_no_span_attribute_or_event_carries_patient_data(
    harness: Harness, spans: InMemorySpanExporter
) -> None:
    harness.dentrix.will("search_patients", ValueError("Quillfeather is not a valid 1961-07-04"))
    await harness.send(command(CommandType.SEARCH_PATIENTS, payload=_search()))

    assert spans.get_finished_spans()
    for span in spans.get_finished_spans():
        texts = [str(v) for v in (span.attributes or {}).values()]
        texts += [str(v) for event in span.events for v in (event.attributes or {}).values()]
        texts += [span.name, span.status.description or ""]
        assert not [t for t in texts for secret in _PATIENT_DATA if secret in t], span.name
