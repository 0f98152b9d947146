"""Topic names, including the retry tier suffixes derived from their delays."""

from __future__ import annotations

import pytest

from streams.retry import RetryTiers
from topology import TopicNames


def test_default_names() -> None:
    names = TopicNames()
    assert (names.commands, names.results, names.errors, names.dead_letters, names.alerts) == (
        "pms.commands",
        "pms.results",
        "pms.errors",
        "pms.commands.dlt",
        "pms.alerts",
    )
    assert names.retries == ("pms.commands.retry.10s", "pms.commands.retry.1m", "pms.commands.retry.10m")


def test_prefix_applies_to_every_topic() -> None:
    names = TopicNames(prefix="staging.")
    every = (names.commands, names.results, names.errors, names.dead_letters, names.alerts, *names.retries)
    assert all(name.startswith("staging.pms.") for name in every)
    assert names.retries[0] == "staging.pms.commands.retry.10s"


@pytest.mark.parametrize(
    ("delay", "suffix"),
    [
        (0.5, "500ms"),
        (1.0, "1s"),
        (90.0, "90s"),
        (120.0, "2m"),
        (3600.0, "1h"),
        (5400.0, "90m"),
        (7200.0, "2h"),
    ],
)
def test_tier_suffix(delay: float, suffix: str) -> None:
    assert TopicNames(tiers=RetryTiers((delay,))).retries == (f"pms.commands.retry.{suffix}",)


def test_one_retry_topic_per_tier_and_all_distinct() -> None:
    names = TopicNames(tiers=RetryTiers((1.0, 5.0, 30.0, 120.0)))
    assert len(set(names.retries)) == 4
