"""Chaos: the guarantees under everything at once, judged from outside the workers.

About 600 commands (a fifth of them writes) over two Dentrix and two Eaglesoft practices, two workers, faults on
both sandboxes (503s, a 429 burst, hangs, resets, lost responses, stale reads, an expired token; Eaglesoft writes
that fail or stay pending past the call budget), malformed messages mixed in, and one worker SIGKILLed halfway
through the sending and restarted. Then, from the broker's answers and the sandboxes' read-outs: nothing lost, one
outcome per command, no write applied twice, every applied write answered with a result, every malformed message
answered VALIDATION. ``tests/chaos/verdict.py`` states each rule; ``python -m deploy.bench.chaos`` is the long run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos import ChaosConfig, ChaosRun, describe
from tests.contract.dentrix_harness import DentrixHarness
from tests.contract.eaglesoft_harness import EaglesoftHarness

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dentrix() -> Iterator[DentrixHarness]:
    harness = DentrixHarness()
    harness.start()
    yield harness
    harness.stop()


@pytest.fixture(scope="module")
def eaglesoft() -> Iterator[EaglesoftHarness]:
    harness = EaglesoftHarness()
    harness.start()
    yield harness
    harness.stop()


@pytest.mark.timeout(420)
def test_chaos_every_command_one_outcome_every_write_once(
    kafka_bootstrap: str, tmp_path: Path, dentrix: DentrixHarness, eaglesoft: EaglesoftHarness
) -> None:
    config = ChaosConfig(commands=600, malformed=20, workers=2, kills=(0.4,), seed=20260302)
    result = ChaosRun(
        config,
        bootstrap=kafka_bootstrap,
        workdir=tmp_path,
        dentrix=dentrix,
        eaglesoft=eaglesoft,
        progress=print,
    ).run()
    report = describe(result)
    print(report)
    assert result.verdict.ok, report
    assert result.verdict.malformed_answered == config.malformed, report
