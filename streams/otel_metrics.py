"""OpenTelemetry metrics for the worker: the catalog of :mod:`streams.metrics` through an OTLP exporter.

On when the standard variables ask for it: ``OTEL_METRICS_EXPORTER=otlp`` (the default once
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set) or ``console``; ``OTEL_METRIC_EXPORT_INTERVAL`` as the SDK reads it.
Names follow the semantic conventions where one exists (``messaging.process.duration``,
``http.client.request.duration``), attributes are ids and codes (:data:`streams.metrics.ATTRIBUTES`).

The SDK's reader runs on a thread of its own; the gauges read live state owned by the event loop, so they
are read on the loop (one reading per export, shared by every gauge).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource

from streams.metrics import ATTRIBUTES, Instrument, Kind, Recorder, Sample

__all__ = ["OtelMetrics", "configure_metrics"]

_log = logging.getLogger(__name__)
_NAME = "pms-relay"
_READ_TIMEOUT = 5.0
_SHARED_FOR = 1.0  # seconds one reading serves every gauge of an export


def configure_metrics(environ: Mapping[str, str] | None = None) -> MeterProvider | None:
    """A meter provider exporting as the standard variables ask; None when metrics export stays off."""
    env = os.environ if environ is None else environ
    chosen = env.get("OTEL_METRICS_EXPORTER", "otlp" if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "none")
    if chosen == "none" or env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    exporter: MetricExporter
    if chosen == "console":
        exporter = ConsoleMetricExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        exporter = OTLPMetricExporter()
    return MeterProvider(
        metric_readers=[PeriodicExportingMetricReader(exporter)],
        resource=Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", _NAME)}),
    )


class OtelMetrics:
    """A :class:`streams.metrics.Backend` on an OpenTelemetry meter provider."""

    def __init__(
        self, provider: MeterProvider, *, loop: Callable[[], asyncio.AbstractEventLoop] | None = None
    ) -> None:
        self._meter = provider.get_meter(_NAME)
        self._loop = loop
        self._lock = threading.Lock()
        self._reading: tuple[float, list[Sample]] | None = None

    def recorder(self, instrument: Instrument) -> Recorder:
        keys = tuple(ATTRIBUTES[label] for label in instrument.labels)
        attributes: dict[tuple[str, ...], dict[str, str]] = {}

        def attributes_of(labels: tuple[str, ...]) -> dict[str, str]:
            found = attributes.get(labels)
            if found is None:
                found = attributes[labels] = {k: v for k, v in zip(keys, labels, strict=True) if v}
            return found

        if instrument.kind is Kind.COUNTER:
            counter = self._meter.create_counter(
                instrument.otel_name, instrument.unit, instrument.description
            )
            return lambda labels, value: counter.add(value, attributes_of(labels))
        if instrument.kind is Kind.HISTOGRAM:
            histogram = self._meter.create_histogram(
                instrument.otel_name,
                instrument.unit,
                instrument.description,
                explicit_bucket_boundaries_advisory=instrument.buckets,
            )
            return lambda labels, value: histogram.record(value, attributes_of(labels))
        raise ValueError(f"{instrument.name} is a gauge: it is read, not recorded")

    def watch(self, gauges: Sequence[Instrument], samples: Callable[[], list[Sample]]) -> None:
        for gauge in gauges:
            keys = tuple(ATTRIBUTES[label] for label in gauge.labels)
            self._meter.create_observable_gauge(
                gauge.otel_name,
                callbacks=[self._callback(gauge.name, keys, samples)],
                unit=gauge.unit,
                description=gauge.description,
            )

    def _callback(
        self, name: str, keys: tuple[str, ...], samples: Callable[[], list[Sample]]
    ) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(_options: CallbackOptions) -> Iterable[Observation]:
            return [
                Observation(value, dict(zip(keys, labels, strict=True)))
                for instrument, labels, value in self._read(samples)
                if instrument.name == name
            ]

        return observe

    def _read(self, samples: Callable[[], list[Sample]]) -> list[Sample]:
        with self._lock:
            now = time.monotonic()
            if self._reading is not None and now - self._reading[0] < _SHARED_FOR:
                return self._reading[1]
            reading = self._on_loop(samples)
            self._reading = (now, reading)
            return reading

    def _on_loop(self, samples: Callable[[], list[Sample]]) -> list[Sample]:
        loop = self._loop() if self._loop is not None else None
        if loop is None or _running_here(loop):
            return samples()
        if not loop.is_running():
            return []

        async def read() -> list[Sample]:
            return samples()

        future = asyncio.run_coroutine_threadsafe(read(), loop)
        try:
            return future.result(_READ_TIMEOUT)
        except (concurrent.futures.TimeoutError, RuntimeError) as exc:
            future.cancel()
            _log.warning("metric gauges not read exception=%s", type(exc).__name__)
            return []


def _running_here(loop: Any) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
