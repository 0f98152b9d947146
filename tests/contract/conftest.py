"""Fixtures of the adapter contract suite: one sandbox per vendor for the session, a fresh adapter per test.

The suite runs once per vendor of :data:`adapters.vendors.VENDORS`, through the harness its folder declares
(:class:`adapters.sandbox.harness.SandboxHarness`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from adapters.contract import PMSInterface
from adapters.sandbox.harness import AdapterOverrides, SandboxHarness
from adapters.vendors import VENDORS


@pytest.fixture(scope="session", params=VENDORS, ids=lambda vendor: vendor.name)
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxHarness]:
    harness: SandboxHarness = request.param.harness()
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()


@pytest.fixture
def harness(sandbox: SandboxHarness) -> Iterator[SandboxHarness]:
    """The session's sandbox, with no faults and an empty request log for this test."""
    sandbox.set_faults()
    sandbox.clear_requests()
    yield sandbox
    sandbox.set_faults()


@pytest.fixture
async def make_adapter(harness: SandboxHarness) -> AsyncIterator[Callable[..., PMSInterface]]:
    made: list[PMSInterface] = []

    def make(**overrides: object) -> PMSInterface:
        adapter = harness.make_adapter(AdapterOverrides(**overrides))  # type: ignore[arg-type]
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        await adapter.close()


@pytest.fixture
def adapter(make_adapter: Callable[..., PMSInterface]) -> PMSInterface:
    return make_adapter()


@pytest.fixture(autouse=True)
def no_patient_data_in_logs(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture, sandbox: SandboxHarness
) -> Iterator[None]:
    """Every log line of every test, at DEBUG for every logger (httpx and httpcore included), is free of the
    seeded patients' names, birth dates, phones and e-mails."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "uvicorn", "adapters"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield
    phi = [value for value in sandbox.known.phi if len(value) >= 3]
    leaks = sorted(
        {
            f"{record.name}:{record.levelname}"
            for phase in ("setup", "call", "teardown")
            for record in caplog.get_records(phase)
            if any(value in _text(record) for value in phi)
        }
    )
    assert not leaks, f"patient data in log lines from {leaks}"


def _text(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        text += " " + repr(record.exc_info[1])
    return text
