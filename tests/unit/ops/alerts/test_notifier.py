"""Firing and resolved, once: dedup, resolve, repeat, grouping, silences and the platform-wide hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ops.alerts.conditions import ActiveAlert, Evaluation
from ops.alerts.notices import Delivered, Status, decode_notice, encode_notice
from ops.alerts.notifier import Notifier
from ops.alerts.payloads import Batch
from ops.alerts.settings import AlertSettings, Condition

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
SINKS = [{"kind": "webhook", "name": "hook", "url": "http://127.0.0.1:9/hook"}]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def settings(**grouping: Any) -> AlertSettings:
    options = {"wait_s": 0, "interval_s": 0, "repeat_interval_s": 3600} | grouping
    return AlertSettings.model_validate({"sinks": SINKS, "grouping": options})


def circuit(practice_id: str) -> ActiveAlert:
    return ActiveAlert(
        f"pms-relay:circuit_open:{practice_id}:eaglesoft", Condition.CIRCUIT_OPEN,
        f"circuit open at practice {practice_id}", practice_id, "eaglesoft", T0,
    )  # fmt: skip


def sent(batches: list[Batch]) -> list[tuple[str, str]]:
    return [(n.key.split(":")[1:3][-1], n.status.value) for b in batches for n in b.notices]


def test_the_same_condition_twice_sends_once_then_resolves() -> None:
    notifier = Notifier(settings())
    active = Evaluation((circuit("es-1"),))
    assert sent(notifier.step(active, at(0))) == [("es-1", "firing")]
    assert notifier.step(active, at(10)) == []
    assert sent(notifier.step(Evaluation(()), at(20))) == [("es-1", "resolved")]
    assert notifier.step(Evaluation(()), at(30)) == []
    assert sent(notifier.step(active, at(40))) == [("es-1", "firing")]  # a new outage fires again


def test_a_firing_alert_repeats_every_repeat_interval() -> None:
    notifier = Notifier(settings(repeat_interval_s=100))
    active = Evaluation((circuit("es-1"),))
    notifier.step(active, at(0))
    assert notifier.step(active, at(99)) == []
    assert sent(notifier.step(active, at(100))) == [("es-1", "firing")]


def test_a_group_waits_then_goes_out_together_and_changes_wait_the_interval() -> None:
    notifier = Notifier(settings(wait_s=30, interval_s=60))
    assert notifier.step(Evaluation((circuit("es-1"),)), at(0)) == []
    assert notifier.step(Evaluation((circuit("es-1"), circuit("es-2"))), at(10)) == []
    (batch,) = notifier.step(Evaluation((circuit("es-1"), circuit("es-2"))), at(30))
    assert batch.group_key == '{condition="circuit_open"}'
    assert sent([batch]) == [("es-1", "firing"), ("es-2", "firing")]
    three = Evaluation((circuit("es-1"), circuit("es-2"), circuit("es-3")))
    assert notifier.step(three, at(40)) == []
    assert sent(notifier.step(Evaluation((circuit("es-2"), circuit("es-3"))), at(90))) == [
        ("es-1", "resolved"),
        ("es-3", "firing"),
    ]


def test_an_alert_that_clears_within_the_wait_is_never_sent() -> None:
    notifier = Notifier(settings(wait_s=30))
    notifier.step(Evaluation((circuit("es-1"),)), at(0))
    assert notifier.step(Evaluation(()), at(31)) == []


def test_grouping_by_practice_sends_one_batch_per_practice() -> None:
    notifier = Notifier(settings(by=["practice_id"]))
    batches = notifier.step(Evaluation((circuit("es-1"), circuit("es-2"))), at(0))
    assert [b.group_key for b in batches] == ['{practice_id="es-1"}', '{practice_id="es-2"}']


def test_a_silenced_practice_is_held_for_its_window_then_reconciled() -> None:
    window = {"practice_id": "es-1", "starts_at": at(0).isoformat(), "ends_at": at(100).isoformat()}
    config = settings().model_dump(mode="python") | {"silences": [window]}
    notifier = Notifier(AlertSettings.model_validate(config | {"sinks": SINKS}))
    both = Evaluation((circuit("es-1"), circuit("es-2")))
    assert sent(notifier.step(both, at(10))) == [("es-2", "firing")]
    assert sent(notifier.step(both, at(100))) == [("es-1", "firing")]  # still failing once the window ends


def test_an_alert_sent_before_a_silence_is_not_resolved_during_it() -> None:
    window = {"practice_id": "es-1", "starts_at": at(50).isoformat(), "ends_at": at(100).isoformat()}
    notifier = Notifier(
        AlertSettings.model_validate(
            {"sinks": SINKS, "silences": [window], "grouping": {"wait_s": 0, "interval_s": 0}}
        )
    )
    notifier.step(Evaluation((circuit("es-1"),)), at(0))
    assert notifier.step(Evaluation(()), at(60)) == []
    assert sent(notifier.step(Evaluation(()), at(100))) == [("es-1", "resolved")]


def test_the_platform_alert_holds_the_per_practice_ones_until_it_clears() -> None:
    notifier = Notifier(settings())
    notifier.step(Evaluation((circuit("es-1"),)), at(0))
    platform = ActiveAlert("pms-relay:platform_degraded", Condition.PLATFORM_DEGRADED, "12 of 40 practices")
    keys = frozenset({circuit("es-1").key, circuit("es-2").key})
    assert sent(notifier.step(Evaluation((platform,), keys), at(10))) == [("platform_degraded", "firing")]
    # The platform clears, es-1 recovered meanwhile and es-2 still fails: reconciled now.
    assert sent(notifier.step(Evaluation((circuit("es-2"),)), at(20))) == [
        ("es-1", "resolved"),
        ("es-2", "firing"),
        ("platform_degraded", "resolved"),
    ]


def test_a_new_leader_knows_what_was_sent_and_resends_only_the_unconfirmed() -> None:
    first = Notifier(settings())
    (batch,) = first.step(Evaluation((circuit("es-1"), circuit("es-2"))), at(0))
    confirmed = first.delivered(batch.notices[0].key, "hook", ok=True)
    assert confirmed is not None
    assert confirmed.delivered == {"hook": Delivered.OK}
    records = [encode_notice(n) for n in (*batch.notices, confirmed)]  # the topic, in order
    second = Notifier(settings())
    for record in records:
        notice = decode_notice(record)
        assert notice is not None
        second.learn(notice)
    (again,) = second.unconfirmed()
    assert sent([again]) == [("es-2", "firing")]
    assert again.sinks == ("hook",)
    assert second.step(Evaluation((circuit("es-1"), circuit("es-2"))), at(10)) == []  # no re-page
    assert sent(second.step(Evaluation(()), at(20))) == [("es-1", "resolved"), ("es-2", "resolved")]
    assert second.notices[circuit("es-1").key].status is Status.RESOLVED
