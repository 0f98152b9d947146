"""deploy/prometheus: the rules pass ``promtool check rules`` and their own ``promtool test rules``, which a
broken copy fails; every metric they read is one the worker exports, every runbook command one the CLI
accepts; the Alertmanager example passes ``amtool check-config``; compose's Prometheus loads the rules.
Debian's ``prometheus`` and ``prometheus-alertmanager`` packages have the tools (.ci/run installs them)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from streams.metrics import Metrics
from streams.outcome import TERMINAL
from streams.prometheus import PrometheusMetrics
from tests.unit.deploy.tools import DEPLOY, cli_accepts
from tests.unit.streams.fakes import DENTRIX, FakeClock, make_registry
from tests.unit.streams.test_metrics import readings_of

RULES_DIR = DEPLOY / "prometheus"
RULES = RULES_DIR / "pms-relay.rules.yml"
RULES_TEST = RULES_DIR / "pms-relay.rules.test.yml"
ALERTMANAGER = RULES_DIR / "alertmanager.yml"
# Read by a rule, exported by something else than the worker (deploy/prometheus/README.md says so).
EXTERNAL = {"kafka_consumergroup_group_lag_seconds": "kafka-lag-exporter", "ALERTS": "Prometheus"}
_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created")}
_NOT_METRICS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
                "offset", "bool", "time", "inf", "nan"}  # fmt: skip


def _tool(name: str, *args: str | Path, cwd: Path = RULES_DIR) -> subprocess.CompletedProcess[str]:
    found = shutil.which(name)
    if found is None:
        package = "prometheus-alertmanager" if name == "amtool" else "prometheus"
        pytest.skip(
            f"{name} is not installed (apt-get install -y --no-install-recommends {package}; .ci/run does)"
        )
    return subprocess.run(
        [found, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_the_rules_pass_promtool_check() -> None:
    done = _tool("promtool", "check", "rules", RULES)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_rules_pass_their_unit_tests() -> None:
    done = _tool("promtool", "test", "rules", RULES_TEST)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_unit_tests_fail_a_broken_copy(tmp_path: Path) -> None:
    old, new = 'state="open"}[1m]', 'state=~"open|half-open"}[1m]'  # half-open would page
    text = RULES.read_text()
    assert old in text
    (tmp_path / RULES.name).write_text(text.replace(old, new, 1))
    shutil.copy(RULES_TEST, tmp_path / RULES_TEST.name)
    done = _tool("promtool", "test", "rules", RULES_TEST.name, cwd=tmp_path)
    assert done.returncode != 0
    assert "FAILED" in done.stdout + done.stderr


def test_the_alertmanager_example_passes_amtool() -> None:
    done = _tool("amtool", "check-config", ALERTMANAGER)
    assert done.returncode == 0, done.stdout + done.stderr


def _exported() -> set[str]:
    """Every series name on the worker's /metrics: its real registry, gauges watched as topology.py does."""
    prometheus = PrometheusMetrics()
    readings, _, _ = readings_of(FakeClock(1e9), assigned=(0, 1, 2, 3, 4, 5))
    Metrics([prometheus], registry=make_registry()).watch(readings)
    names = set()
    for family in text_string_to_metric_families(prometheus.exposition()[0].decode()):
        names |= {family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def _metric_names(expr: str) -> set[str]:
    """The series names an expression selects: strings, label matchers, ranges, grouping clauses and
    function calls taken out, what is left are names."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\b[a-z_]+\s*\(", "(", expr)
    expr = re.sub(r"\b\d+[smhdw]\b", " ", expr)
    return {name for name in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr) if name not in _NOT_METRICS}


def test_every_metric_the_rules_read_is_one_the_worker_exports() -> None:
    recorded = {rule["record"] for rule in _rules() if "record" in rule}
    read = set().union(*(_metric_names(rule["expr"]) for rule in _rules()))
    assert {"pms_relay_circuit_state", "pms_relay_dead_letters_total"} <= read  # the parse works
    assert read - recorded - set(EXTERNAL) - _exported() == set()


def test_the_answered_outcomes_are_the_terminal_ones() -> None:
    for rule in _rules():
        for outcomes in re.findall(r'outcome=~"([^"]+)"', rule["expr"]):
            assert set(outcomes.split("|")) == {outcome.value for outcome in TERMINAL}


def test_every_alert_has_its_labels_and_a_runbook_the_cli_accepts() -> None:
    alerts = [rule for rule in _rules() if "alert" in rule]
    conditions = {"circuit_open", "credentials_rejected", "no_success", "error_rate", "dead_letters",
                  "commands_lag", "retry_overdue", "platform_degraded"}  # fmt: skip
    assert {alert["labels"]["condition"] for alert in alerts} == conditions
    for alert in alerts:
        assert alert["alert"].startswith("PmsRelay")
        assert alert["labels"]["severity"] in ("critical", "warning")
        assert set(alert["annotations"]) == {"summary", "runbook", "dashboard"}
        commands = re.findall(r"`pms-relay ([^`]+)`", alert["annotations"]["runbook"])
        assert commands, alert["alert"]
        for command in commands:
            args = command.replace("{{ $labels.practice_id }}", DENTRIX).split()
            assert cli_accepts([*args, "--help"]), f"{alert['alert']}: pms-relay {command}"


def test_compose_s_prometheus_loads_the_rules() -> None:
    compose = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    config = yaml.safe_load((DEPLOY / "compose" / "prometheus.yml").read_text())
    mounts = {m["source"]: m["target"] for m in compose["services"]["prometheus"]["configs"]}
    assert config["rule_files"] == [mounts["prometheus-rules"]]
    assert (DEPLOY / "compose" / compose["configs"]["prometheus-rules"]["file"]).resolve() == RULES
