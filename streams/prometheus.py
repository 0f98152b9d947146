"""Prometheus for the worker: the catalog of :mod:`streams.metrics` in a registry of its own, Faust's sensor
beside it, and the ``/metrics`` page on the worker's web port.

Faust's :class:`~faust.sensors.prometheus.PrometheusMonitor` writes into the same registry under the
``faust_`` prefix (its names, its milliseconds), so no name of ours can collide with one of Faust's. The
registry is the worker's own, not prometheus-client's global one: two apps in one process (tests) never
register a name twice. ``process_*`` (CPU, memory, open files) comes with it, as from every Prometheus client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import faust
from faust.sensors.monitor import Monitor
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.types import TP, EventT, Message, PendingMessage, ProducerT, StreamT
from faust.web import Request, Response, View
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from streams.metrics import Instrument, Kind, Recorder, Sample

__all__ = ["FAUST_PREFIX", "PrometheusMetrics"]

FAUST_PREFIX = "faust"


class PrometheusMetrics:
    """A :class:`streams.metrics.Backend` on prometheus-client; with ``app``, also Faust's sensor and the page."""

    def __init__(self, app: faust.App | None = None, *, path: str = "/metrics") -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        if app is not None:
            app.monitor = _FaustSensor(metrics=FaustMetrics.create(self.registry, FAUST_PREFIX))
            self._serve(app, path)

    def recorder(self, instrument: Instrument) -> Recorder:
        metric: Counter | Histogram
        if instrument.kind is Kind.COUNTER:
            metric = Counter(
                instrument.name, instrument.description, instrument.labels, registry=self.registry
            )
        elif instrument.kind is Kind.HISTOGRAM:
            metric = Histogram(
                instrument.name,
                instrument.description,
                instrument.labels,
                registry=self.registry,
                buckets=instrument.buckets,
            )
        else:
            raise ValueError(f"{instrument.name} is a gauge: it is read, not recorded")
        return _bound(metric, counter=instrument.kind is Kind.COUNTER)

    def watch(self, gauges: Sequence[Instrument], samples: Callable[[], list[Sample]]) -> None:
        self.registry.register(_Gauges(gauges, samples))

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """The registry in the text format the scraper asked for, and its content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type

    def _serve(self, app: faust.App, path: str) -> None:
        exposition = self.exposition

        @app.page(path)
        async def metrics(view: View, request: Request) -> Response:
            body, content_type = exposition(request.headers.get("Accept"))
            return view.bytes(body, headers={"Content-Type": content_type})


def _bound(metric: Any, *, counter: bool) -> Recorder:
    """A recorder that keeps each label set's child: recording is a dict lookup and an increment."""
    children: dict[tuple[str, ...], Any] = {}

    def record(labels: tuple[str, ...], value: float) -> None:
        child = children.get(labels)
        if child is None:
            child = children[labels] = metric.labels(*labels)
        if counter:
            child.inc(value)
        else:
            child.observe(value)

    return record


class _FaustSensor(PrometheusMonitor):
    """Faust's Prometheus sensor, each labelled series bound once per label set: every message, event, table
    read of the hot path (the inbox, each circuit look-up) and send passes here, prometheus-client's
    ``labels()`` costs 3 us a call, and faust names a stream's series with a regex each time. The series and
    their values are faust's own (same names, labels and updates)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._series: dict[tuple[str, Any], Any] = {}

    def _child(self, metric: str, key: Any, labels: Callable[[], dict[str, Any]]) -> Any:
        """``metric``'s series for ``key``, its ``labels`` (a stream's needs a regex) worked out once."""
        found = self._series.get((metric, key))
        if found is None:
            found = self._series[(metric, key)] = getattr(self._metrics, metric).labels(**labels())
        return found

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        Monitor.on_message_in(self, tp, offset, message)
        self._metrics.messages_received.inc()
        self._metrics.active_messages.inc()
        self._child("messages_received_per_topics", tp.topic, lambda: {"topic": tp.topic}).inc()
        self._child(
            "messages_received_per_topics_partition",
            tp,
            lambda: {"topic": tp.topic, "partition": tp.partition},
        ).set(offset)

    def on_stream_event_in(
        self, tp: TP, offset: int, stream: StreamT[Any], event: EventT[Any]
    ) -> dict[str, Any] | None:
        state: dict[str, Any] | None = Monitor.on_stream_event_in(self, tp, offset, stream, event)
        self._metrics.total_events.inc()
        self._metrics.total_active_events.inc()
        self._child(
            "total_events_per_stream",
            stream,
            lambda: {"stream": f"stream.{self._stream_label(stream)}.events"},
        ).inc()
        return state

    def on_send_initiated(
        self, producer: ProducerT, topic: str, message: PendingMessage, keysize: int, valsize: int
    ) -> Any:
        self._child("topic_messages_sent", topic, lambda: {"topic": f"topic.{topic}"}).inc()
        return Monitor.on_send_initiated(self, producer, topic, message, keysize, valsize)

    def track_tp_end_offset(self, tp: TP, offset: int) -> None:
        Monitor.track_tp_end_offset(self, tp, offset)
        self._child(
            "topic_partition_end_offset", tp, lambda: {"topic": tp.topic, "partition": tp.partition}
        ).set(offset)

    def _count_table(self, table: Any, operation: str) -> None:
        self._child(
            "table_operations",
            (table.name, operation),
            lambda: {"table": f"table.{table.name}", "operation": operation},
        ).inc()

    def on_table_get(self, table: Any, key: Any) -> None:
        Monitor.on_table_get(self, table, key)
        self._count_table(table, self.KEYS_RETRIEVED)

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        Monitor.on_table_set(self, table, key, value)
        self._count_table(table, self.KEYS_UPDATED)

    def on_table_del(self, table: Any, key: Any) -> None:
        Monitor.on_table_del(self, table, key)
        self._count_table(table, self.KEYS_DELETED)


class _Gauges:
    """A custom collector: the gauges' values are read when the registry is collected (a scrape)."""

    def __init__(self, gauges: Sequence[Instrument], samples: Callable[[], list[Sample]]) -> None:
        self._gauges = tuple(gauges)
        self._samples = samples

    def describe(self) -> Iterable[Metric]:
        return [self._family(gauge) for gauge in self._gauges]

    def collect(self) -> Iterable[Metric]:
        families = {gauge.name: self._family(gauge) for gauge in self._gauges}
        for instrument, labels, value in self._samples():
            families[instrument.name].add_metric(list(labels), value)
        return list(families.values())

    @staticmethod
    def _family(gauge: Instrument) -> GaugeMetricFamily:
        return GaugeMetricFamily(gauge.name, gauge.description, labels=list(gauge.labels))
