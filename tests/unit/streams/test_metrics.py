"""Metrics from the observer seam: what the pipeline reports becomes counters and histograms with ids and
codes as labels, on Prometheus and OpenTelemetry alike; gauges are read from live state when collected."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import faust
import pytest
from faust.sensors.prometheus import PrometheusMonitor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client.parser import text_string_to_metric_families

from adapters.errors import Forbidden, NotFound, Unauthorized, Unavailable
from adapters.http.client import retry_listener
from schemas.envelopes import CommandType
from streams.activity import Activity
from streams.circuit import CircuitBoard
from streams.due_gates import Waiting
from streams.metrics import (
    CATALOG,
    Instrument,
    Kind,
    Metrics,
    MetricsObserver,
    Sample,
    gauge_samples,
    tier_delay,
)
from streams.observer import Observers
from streams.otel_metrics import OtelMetrics, configure_metrics
from streams.prometheus import PrometheusMetrics
from streams.readings import Readings, partition_of
from streams.scheduler import Scheduler
from streams.tracing import TracingObserver
from tests.unit.streams.fakes import (
    DENTRIX,
    EAGLESOFT,
    NAMES,
    PATIENT_DATA,
    FakeClock,
    Harness,
    command,
    make_registry,
)


@dataclass
class RecordingBackend:
    """A :class:`streams.metrics.Backend` that keeps every recording, by Prometheus name."""

    records: list[tuple[str, tuple[str, ...], float]] = field(default_factory=list)
    watched: list[Callable[[], list[Sample]]] = field(default_factory=list)

    def recorder(self, instrument: Instrument) -> Callable[[tuple[str, ...], float], None]:
        return lambda labels, value: self.records.append((instrument.name, labels, value))

    def watch(self, gauges: Sequence[Instrument], samples: Callable[[], list[Sample]]) -> None:
        self.watched.append(samples)

    def of(self, name: str) -> list[tuple[str, ...]]:
        return [labels for recorded, labels, _ in self.records if recorded == name]


def harness_with(clock: FakeClock, backend: Any, *, practice_label: bool = True) -> Harness:
    observer = MetricsObserver([backend], pms_of=_pms_of, practice_label=practice_label)
    return Harness(clock, observer=Observers([TracingObserver("pms-relay"), observer]))


def _pms_of(practice_id: str) -> str:
    return {DENTRIX: "DENTRIX", EAGLESOFT: "EAGLESOFT"}.get(practice_id, "")


# -- counters and histograms from the pipeline -------------------------------------------------------------

SEARCH = CommandType.SEARCH_PATIENTS.value


@pytest.mark.parametrize(
    ("script", "finished", "pms_call"),
    [
        ([], (DENTRIX, "DENTRIX", SEARCH, "succeeded", ""), ("DENTRIX", SEARCH, "OK")),
        (
            [Unavailable("503")],
            (DENTRIX, "DENTRIX", SEARCH, "retrying", "UNAVAILABLE"),
            ("DENTRIX", SEARCH, "UNAVAILABLE"),
        ),
        (
            [NotFound("gone")],
            (DENTRIX, "DENTRIX", SEARCH, "answered_error", "NOT_FOUND"),
            ("DENTRIX", SEARCH, "NOT_FOUND"),
        ),
    ],
)
async def test_a_command_counts_its_outcome_and_its_pms_call(
    clock: FakeClock,
    script: list[Exception],
    finished: tuple[str, ...],
    pms_call: tuple[str, ...],
) -> None:
    backend = RecordingBackend()
    harness = harness_with(clock, backend)
    harness.dentrix.will("search_patients", *script)
    await harness.send(command(CommandType.SEARCH_PATIENTS))
    assert backend.of("pms_relay_commands_finished") == [finished]
    assert backend.of("http_client_request_duration_seconds") == [pms_call]
    assert backend.of("pms_relay_processing_duration_seconds") == [finished[1:4]]
    assert all(value >= 0 for _, _, value in backend.records)


async def test_the_last_tier_counts_a_dead_letter_with_its_practice(clock: FakeClock) -> None:
    backend = RecordingBackend()
    harness = harness_with(clock, backend)
    harness.dentrix.will("search_patients", *[Unavailable("503")] * 10)
    await harness.send(command(CommandType.SEARCH_PATIENTS))
    await harness.drain()
    assert backend.of("pms_relay_dead_letters") == [(DENTRIX, "DENTRIX", "UNAVAILABLE")]
    outcomes = [labels[3] for labels in backend.of("pms_relay_commands_finished")]
    assert outcomes == ["retrying", "retrying", "retrying", "dead_lettered"]


async def test_input_never_becomes_a_label_value(clock: FakeClock) -> None:
    backend = RecordingBackend()
    harness = harness_with(clock, backend)
    await harness.send(command(CommandType.LIST_LOCATIONS, practice_id="no-such-practice-<script>"))
    await harness.feed(harness.raw(b"\x00 not avro", key=b"whoever"))
    assert backend.of("pms_relay_commands_finished") == [
        ("", "", "ListLocations", "unknown_practice", "UNKNOWN_PRACTICE"),
        ("", "", "", "undecodable", "VALIDATION"),
    ]
    assert backend.of("pms_relay_dead_letters") == [("", "", "VALIDATION")]


async def test_in_call_retries_are_counted_against_the_command_being_handled(clock: FakeClock) -> None:
    backend = RecordingBackend()
    harness = harness_with(clock, backend)

    def http_layer_retries(method: str, args: tuple[Any, ...]) -> None:
        listener = retry_listener.get()
        assert listener is not None, "set while the message is handled"
        listener(Unavailable("503"))
        listener(Unavailable("502"))

    harness.dentrix.on_call = http_layer_retries
    await harness.send(command(CommandType.SEARCH_PATIENTS))
    assert backend.of("pms_relay_pms_request_retries") == [(DENTRIX, "DENTRIX", SEARCH, "UNAVAILABLE")] * 2
    assert retry_listener.get() is None  # reset once the message is handled


async def test_without_the_practice_label_every_series_drops_it(clock: FakeClock) -> None:
    backend = RecordingBackend()
    harness = harness_with(clock, backend, practice_label=False)
    harness.dentrix.will("search_patients", *[Unavailable("503")] * 10)
    await harness.send(command(CommandType.SEARCH_PATIENTS))
    await harness.drain()
    assert DENTRIX not in {value for _, labels, _ in backend.records for value in labels}
    assert backend.of("pms_relay_dead_letters") == [("DENTRIX", "UNAVAILABLE")]


# -- Prometheus --------------------------------------------------------------------------------------------


def _families(prometheus: PrometheusMetrics) -> dict[str, Any]:
    text = prometheus.exposition()[0].decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


async def test_the_exposition_follows_prometheus_conventions_and_holds_no_patient_data(
    clock: FakeClock,
) -> None:
    prometheus = PrometheusMetrics()
    metrics = Metrics([prometheus], registry=make_registry())
    harness = Harness(clock, observer=Observers([TracingObserver("pms-relay"), metrics.observer]))
    await harness.send(command(CommandType.SEARCH_PATIENTS))

    text, content_type = prometheus.exposition()
    assert content_type.startswith("text/plain; version=0.0.4")
    assert not any(marker in text.decode() for marker in PATIENT_DATA)
    families = _families(prometheus)
    finished = families["pms_relay_commands_finished"]
    assert finished.type == "counter"
    [sample] = [s for s in finished.samples if s.name == "pms_relay_commands_finished_total"]
    assert sample.labels == {
        "practice_id": DENTRIX,
        "pms": "DENTRIX",
        "command_type": SEARCH,
        "outcome": "succeeded",
        "code": "",
    }
    duration = families["http_client_request_duration_seconds"]
    assert duration.type == "histogram"
    assert {s.labels["status"] for s in duration.samples} == {"OK"}
    assert "process_cpu_seconds" in families


def test_every_name_is_unique_snake_case_and_durations_are_seconds() -> None:
    names = [i.name for i in CATALOG]
    assert len(set(names)) == len(names) == len({i.otel_name for i in CATALOG})
    for instrument in CATALOG:
        assert instrument.name == instrument.name.lower()
        assert " " not in instrument.name
        assert not instrument.name.endswith("_total"), "the client library adds _total to counters"
        if instrument.unit == "s" and instrument.kind is not Kind.GAUGE:
            assert instrument.name.endswith("_seconds")
    otel = {i.name: i.otel_name for i in CATALOG}
    assert otel["pms_relay_processing_duration_seconds"] == "messaging.process.duration"
    assert otel["http_client_request_duration_seconds"] == "http.client.request.duration"


# -- gauges from live state --------------------------------------------------------------------------------


def readings_of(
    clock: FakeClock, assigned: tuple[int, ...], partitions: int = 6
) -> tuple[Readings, Activity, dict[str, Any]]:
    circuits: dict[str, Any] = {}
    activity = Activity(NAMES.commands, clock=clock)
    registry = make_registry()
    readings = Readings(
        registry=registry,
        commands_topic=NAMES.commands,
        partitions=partitions,
        scheduler=Scheduler(max_in_flight=64, practice_slots=lambda _p: 4),
        waiting=lambda: {NAMES.retries[0]: Waiting(3, clock() - 12)},
        tiers=NAMES.retries,
        circuits=CircuitBoard(circuits, clock=clock),
        assigned=lambda: assigned,
        lag=lambda: {p: 10 * p for p in assigned},
        activity=activity,
        clock=clock,
    )
    return readings, activity, circuits


def _by_name(samples: list[Sample]) -> dict[str, dict[tuple[str, ...], float]]:
    found: dict[str, dict[tuple[str, ...], float]] = {}
    for instrument, labels, value in samples:
        found.setdefault(instrument.name, {})[labels] = value
    return found


def test_gauges_read_the_practices_of_this_worker_s_partitions(clock: FakeClock) -> None:
    both = (partition_of(DENTRIX, 6), partition_of(EAGLESOFT, 6))
    readings, _, circuits = readings_of(clock, assigned=both)
    circuits[f"{DENTRIX}|DENTRIX"] = {"state": "open", "counter": 3, "successes": 0}
    gauges = _by_name(gauge_samples(readings))
    assert gauges["pms_relay_circuit_state"][(DENTRIX, "DENTRIX", "open")] == 1.0
    assert gauges["pms_relay_circuit_state"][(DENTRIX, "DENTRIX", "closed")] == 0.0
    assert gauges["pms_relay_circuit_state"][(EAGLESOFT, "EAGLESOFT", "closed")] == 1.0
    assert gauges["pms_relay_practice_slots"][(DENTRIX, "DENTRIX")] == 4.0  # the registry's default
    assert gauges["pms_relay_retry_copies_waiting"][(NAMES.retries[0],)] == 3
    assert gauges["pms_relay_retry_oldest_overdue_seconds"][(NAMES.retries[0],)] == pytest.approx(12)
    assert gauges["pms_relay_retry_copies_waiting"][(NAMES.retries[2],)] == 0
    assert gauges["pms_relay_commands_admitted_limit"][()] == 64
    assert set(gauges["pms_relay_consumer_lag"]) == {(NAMES.commands, str(p)) for p in both}
    delays = dict(zip(NAMES.retries, NAMES.tiers.delays, strict=True))
    assert gauges["pms_relay_retry_delay_seconds"] == {(topic,): delay for topic, delay in delays.items()}


@pytest.mark.parametrize(
    ("topic", "seconds"),
    [
        ("pms.commands.retry.10s", 10.0),
        ("staging.pms.commands.retry.1m", 60.0),
        ("pms.commands.retry.2h", 7200.0),
        ("pms.commands.retry.1500ms", 1.5),
    ],
)
def test_a_tier_s_delay_is_read_from_its_name(topic: str, seconds: float) -> None:
    assert tier_delay(topic) == seconds


def test_gauges_leave_out_practices_of_other_workers(clock: FakeClock) -> None:
    mine = partition_of(DENTRIX, 6)
    if partition_of(EAGLESOFT, 6) == mine:
        pytest.skip("both practices hash to one partition")
    readings, _, _ = readings_of(clock, assigned=(mine,))
    practices = {labels[0] for labels in _by_name(gauge_samples(readings))["pms_relay_circuit_state"]}
    assert practices == {DENTRIX}
    nothing = _by_name(gauge_samples(readings_of(clock, assigned=())[0]))
    assert "pms_relay_circuit_state" not in nothing  # nothing assigned: no practice at all


async def test_without_the_practice_label_gauges_are_per_pms(clock: FakeClock) -> None:
    both = (partition_of(DENTRIX, 6), partition_of(EAGLESOFT, 6))
    readings, activity, circuits = readings_of(clock, assigned=both)
    circuits[f"{DENTRIX}|DENTRIX"] = {"state": "open", "counter": 3, "successes": 0}
    harness = Harness(clock, observer=activity)
    await harness.send(command(CommandType.SEARCH_PATIENTS, practice_id=DENTRIX))
    gauges = _by_name(gauge_samples(readings, practice_label=False))
    assert gauges["pms_relay_circuit_state"][("DENTRIX", "open")] == 1.0
    assert gauges["pms_relay_circuit_state"][("EAGLESOFT", "closed")] == 1.0
    assert gauges["pms_relay_pms_last_success_timestamp_seconds"] == {("DENTRIX",): clock()}


@pytest.mark.parametrize("refusal", [Unauthorized("401"), Forbidden("403")], ids=["401", "403"])
async def test_refused_credentials_are_the_practice_s_last_rejection(
    clock: FakeClock, refusal: Exception
) -> None:
    observer = MetricsObserver([RecordingBackend()], pms_of=_pms_of, clock=clock)
    harness = Harness(clock, observer=observer)
    harness.dentrix.will("search_patients", refusal)
    await harness.send(command(CommandType.SEARCH_PATIENTS))
    refused_at = clock()
    clock.advance(60)
    harness.dentrix.will("search_patients", NotFound("gone"))  # the PMS answered: no word on credentials
    await harness.send(command(CommandType.SEARCH_PATIENTS))
    await harness.send(command(CommandType.SEARCH_PATIENTS))  # a success keeps the time: the rules compare
    readings, _, _ = readings_of(clock, assigned=(partition_of(DENTRIX, 6),))
    gauges = _by_name(gauge_samples(readings, rejections=observer.last_rejections()))
    assert gauges["pms_relay_pms_last_rejection_timestamp_seconds"] == {(DENTRIX, "DENTRIX"): refused_at}
    per_pms = _by_name(gauge_samples(readings, practice_label=False, rejections=observer.last_rejections()))
    assert per_pms["pms_relay_pms_last_rejection_timestamp_seconds"] == {("DENTRIX",): refused_at}


async def test_prometheus_serves_the_last_rejection_of_the_practices_of_this_worker(clock: FakeClock) -> None:
    prometheus = PrometheusMetrics()
    metrics = Metrics([prometheus], registry=make_registry())
    readings, _, _ = readings_of(clock, assigned=(partition_of(DENTRIX, 6),))
    metrics.watch(readings)
    harness = Harness(clock, observer=metrics.observer)
    harness.dentrix.will("search_patients", Unauthorized("401"))
    await harness.send(command(CommandType.SEARCH_PATIENTS))
    [sample] = _families(prometheus)["pms_relay_pms_last_rejection_timestamp_seconds"].samples
    assert sample.labels == {"practice_id": DENTRIX, "pms": "DENTRIX"}
    assert sample.value > 0


async def test_prometheus_reads_the_gauges_at_scrape_time(clock: FakeClock) -> None:
    prometheus = PrometheusMetrics()
    readings, _, circuits = readings_of(clock, assigned=(partition_of(DENTRIX, 6),))
    Metrics([prometheus], registry=make_registry()).watch(readings)
    assert _families(prometheus)["pms_relay_circuit_state"].samples[0].labels["state"] == "closed"
    circuits[f"{DENTRIX}|DENTRIX"] = {"state": "half-open", "counter": 0, "successes": 0}
    states = {s.labels["state"]: s.value for s in _families(prometheus)["pms_relay_circuit_state"].samples}
    assert states == {"closed": 0.0, "open": 0.0, "half-open": 1.0}


# -- OpenTelemetry -----------------------------------------------------------------------------------------


async def test_opentelemetry_gets_the_same_instruments_under_semantic_convention_names(
    clock: FakeClock,
) -> None:
    reader = InMemoryMetricReader()
    otel = OtelMetrics(MeterProvider(metric_readers=[reader]))
    metrics = Metrics([otel], registry=make_registry())
    harness = Harness(clock, observer=Observers([TracingObserver("pms-relay"), metrics.observer]))
    readings, _, _ = readings_of(clock, assigned=(partition_of(DENTRIX, 6),))
    metrics.watch(readings)
    harness.dentrix.will("search_patients", Unavailable("503"))
    await harness.send(command(CommandType.SEARCH_PATIENTS))

    data = reader.get_metrics_data()
    assert data is not None
    points = {
        metric.name: [dict(point.attributes or {}) for point in metric.data.data_points]
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert points["messaging.process.duration"] == [
        {"pms.vendor": "DENTRIX", "pms.command_type": SEARCH, "pms.outcome": "retrying"}
    ]
    assert points["http.client.request.duration"] == [
        {"pms.vendor": "DENTRIX", "pms.operation": SEARCH, "pms.status": "UNAVAILABLE"}
    ]
    assert points["pms_relay.commands.finished"][0]["error.type"] == "UNAVAILABLE"
    assert {"pms_relay.circuit.state", "pms_relay.consumer.lag", "pms_relay.commands.admitted"} <= set(points)
    assert not any(marker in repr(points) for marker in PATIENT_DATA)


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_METRICS_EXPORTER": "none"}, False),
        ({"OTEL_METRICS_EXPORTER": "console"}, True),
        ({"OTEL_METRICS_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_otlp_export_is_on_only_when_the_standard_variables_ask(environ: dict[str, str], on: bool) -> None:
    provider = configure_metrics(environ)
    assert (provider is not None) == on
    if provider is not None:
        provider.shutdown()


def test_faust_s_sensor_shares_the_registry_under_its_own_prefix() -> None:
    app = faust.App("unit-metrics", web_enabled=False)
    prometheus = PrometheusMetrics(app)
    assert isinstance(app.monitor, PrometheusMonitor)

    class Table:
        name = "inbox"

    for _ in range(3):
        app.monitor.on_table_get(Table(), "a-key")
    Metrics(
        [prometheus], registry=make_registry()
    )  # our instruments beside Faust's: no name registered twice
    families = _families(prometheus)
    [reads] = [s for s in families["faust_table_operations"].samples if s.name.endswith("_total")]
    assert (reads.labels, reads.value) == ({"table": "table.inbox", "operation": "keys_retrieved"}, 3.0)
    ours = {i.name for i in CATALOG if i.kind is not Kind.GAUGE}
    assert {name for name in families if not name.startswith(("faust_", "process_"))} == ours


def test_faust_s_sensor_binds_its_series_once_and_records_what_faust_s_own_records() -> None:
    """The sensor caches labelled series; the samples must be those faust's PrometheusMonitor writes."""
    from types import SimpleNamespace

    from faust.sensors.prometheus import FaustMetrics
    from faust.types import TP
    from prometheus_client import CollectorRegistry

    from streams.prometheus import FAUST_PREFIX, _FaustSensor

    ours_registry, theirs_registry = CollectorRegistry(), CollectorRegistry()
    ours = _FaustSensor(metrics=FaustMetrics.create(ours_registry, FAUST_PREFIX))
    theirs = PrometheusMonitor(metrics=FaustMetrics.create(theirs_registry, FAUST_PREFIX))

    class Owner:
        pass

    class Stream:  # faust keeps streams and their tasks in weak maps
        shortlabel = "Stream: topology.take_commands"
        task_owner = Owner()

    stream = Stream()
    for sensor in (ours, theirs):
        for offset, tp in enumerate([TP("pms.commands", 0), TP("pms.commands", 1), TP("pms.commands", 0)]):
            message = SimpleNamespace(stream_meta={}, time_in=None, tp=tp, offset=offset)
            sensor.on_message_in(tp, offset, message)
            event = SimpleNamespace(message=message)
            sensor.on_stream_event_in(tp, offset, stream, event)
            sensor.track_tp_end_offset(tp, offset + 10)
            sensor.on_send_initiated(None, "pms.results", None, 1, 2)

    def samples(registry: CollectorRegistry) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
        wanted = ("received", "events", "end_offset", "messages_sent", "active")
        return {
            (s.name, tuple(sorted(s.labels.items())), s.value)
            for family in registry.collect()
            for s in family.samples
            if any(w in s.name for w in wanted) and not s.name.endswith("_created")
        }

    assert samples(ours_registry) == samples(theirs_registry)
    assert (
        "faust_topic_partition_end_offset",
        (("partition", "0"), ("topic", "pms.commands")),
        12.0,
    ) in samples(ours_registry)
