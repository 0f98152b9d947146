"""The alerts file: defaults, overrides, errors that name the setting, secrets never shown; the CLI's
``check`` and ``test`` against a real loopback receiver."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli import app
from ops.alerts.settings import AlertSettings, AlertSettingsError, load_settings
from tests.unit.ops.alerts.receiver import receiver

SECRET_URL = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"


def _write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_the_defaults_are_the_documented_ones() -> None:
    t = AlertSettings().thresholds
    assert (t.circuit_open_s, t.no_success_s, t.error_rate, t.error_rate_min_finished) == (300, 900, 0.2, 20)
    assert (t.dead_letters_window_s, t.commands_lag_records, t.commands_lag_s) == (600, 1000, 120)
    assert (t.retry_overdue_factor, t.platform_min_practices, t.platform_share) == (1.0, 10, 0.25)


@pytest.mark.parametrize(
    ("document", "names"),
    [
        ({"thresholds": {"circuit_open": 5}}, "thresholds.circuit_open"),
        ({"by_practice": {"es-1": {"error_rat": 0.5}}}, "by_practice.es-1.error_rat"),
        ({"sinks": [{"kind": "slack", "name": "s", "url": SECRET_URL, "channel": "x"}]}, "sinks.0.slack.channel"),
        ({"sinks": [{"kind": "pagerduty", "name": "pd"}]}, "sinks.0.pagerduty.routing_key"),
        ({"silences": [{"practice_id": "p", "starts_at": "2026-12-02T10:00:00Z", "ends_at": "2026-12-02T09:00:00Z"}]}, "silences.0"),
    ],
)  # fmt: skip
def test_errors_name_the_setting_and_never_a_secret(tmp_path: Path, document: object, names: str) -> None:
    with pytest.raises(AlertSettingsError) as caught:
        load_settings(_write(tmp_path, document))
    assert names in str(caught.value)
    assert "XXXXSECRETXXXX" not in str(caught.value)


def test_check_prints_effective_settings_with_secrets_masked(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "by_pms": {"dentrix": {"circuit_open_s": 120}},
            "sinks": [
                {"kind": "slack", "name": "team", "url": SECRET_URL},
                {"kind": "pagerduty", "name": "pd", "routing_key": "ROUTINGSECRET"},
                {"kind": "webhook", "name": "hook", "url": "http://127.0.0.1:9/h", "secret": "HMACSECRET"},
            ],
        },
    )
    done = CliRunner().invoke(app, ["alerts", "check", "--config", str(path)], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert "circuit_open_s" in done.output
    assert "120" in done.output
    assert "HMAC-signed" in done.output
    assert "*** (secret)" in done.output
    for secret in ("XXXXSECRETXXXX", "ROUTINGSECRET", "HMACSECRET"):
        assert secret not in done.output


def test_check_exits_2_on_a_bad_file(tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["alerts", "check", "--config", str(_write(tmp_path, {"nope": 1}))])
    assert done.exit_code == 2
    assert "nope" in done.output


def test_the_test_command_sends_firing_then_resolved(tmp_path: Path) -> None:
    with receiver() as hook:
        path = _write(tmp_path, {"sinks": [{"kind": "webhook", "name": "hook", "url": hook.url}]})
        done = CliRunner().invoke(app, ["alerts", "test", "--config", str(path), "--sink", "hook"])
        assert done.exit_code == 0, done.output
        assert [b["status"] for b in hook.bodies()] == ["firing", "resolved"]
        assert hook.bodies()[0]["alerts"][0]["dedup_key"] == "pms-relay:test:hook"
        missing = CliRunner().invoke(app, ["alerts", "test", "--config", str(path), "--sink", "other"])
        assert missing.exit_code == 2
        assert "no sink named 'other'" in missing.output
