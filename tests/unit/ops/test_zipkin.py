"""The tracing UI's pure parts: Zipkin's command line and URLs, the exporter the standard variable picks,
and ``pms-relay zipkin status`` when none runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.exporter.zipkin.json import ZipkinExporter
from typer.testing import CliRunner

import streams.tracing
from ops.zipkin import ZipkinServer, spans_endpoint, trace_url


def test_zipkin_listens_on_loopback_only_and_carries_its_marker(tmp_path: Path) -> None:
    server = ZipkinServer(Path("/cache/zipkin-server-3.5.1-exec.jar"), 9412, tmp_path)
    command = server.command(Path("/usr/bin/java"))

    assert command[0] == "/usr/bin/java"
    assert f"-Dpms-relay.zipkin.home={tmp_path}" in command
    assert command[command.index("-jar") + 1] == "/cache/zipkin-server-3.5.1-exec.jar"
    assert "--armeria.ports[0].ip=127.0.0.1" in command
    assert "--armeria.ports[0].port=9412" in command
    assert server.url == "http://127.0.0.1:9412"
    assert not server.running()


@pytest.mark.parametrize("base", ["http://127.0.0.1:9411", "http://127.0.0.1:9411/"])
def test_urls(base: str) -> None:
    assert trace_url(base, "ab" * 16) == f"http://127.0.0.1:9411/zipkin/traces/{'ab' * 16}"
    assert spans_endpoint(base) == "http://127.0.0.1:9411/api/v2/spans"


def test_otel_traces_exporter_zipkin_sends_to_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = []
    monkeypatch.setattr(trace, "set_tracer_provider", installed.append)  # the global stays untouched
    provider = streams.tracing.configure_tracing(
        {"OTEL_TRACES_EXPORTER": "zipkin", "OTEL_EXPORTER_ZIPKIN_ENDPOINT": "http://127.0.0.1:1/api/v2/spans"}
    )
    assert provider is not None
    try:
        assert installed == [provider]
        processors = provider._active_span_processor._span_processors
        exporter = processors[0].span_exporter  # type: ignore[attr-defined]
        assert isinstance(exporter, ZipkinExporter)
        assert exporter.endpoint == "http://127.0.0.1:1/api/v2/spans"
    finally:
        provider.shutdown()


def test_zipkin_status_says_when_none_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import cli.zipkin

    monkeypatch.setattr(cli.zipkin, "_run_dir", lambda: tmp_path)
    result = CliRunner().invoke(cli.zipkin.app, ["status"])
    assert result.exit_code == 1
    assert "not running" in result.output
    result = CliRunner().invoke(cli.zipkin.app, ["down"])
    assert result.exit_code == 0
    assert "not running" in result.output
