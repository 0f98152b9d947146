"""Shared fixtures. Broker fixtures live in :mod:`tests.kafka_fixtures`; this file only wires them up."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from tests.kafka_fixtures import TopicFactory, kafka_cluster


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of the session's broker (see :mod:`tests.kafka_fixtures` for where it comes from)."""
    with kafka_cluster() as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def kafka_admin(kafka_bootstrap: str) -> AdminClient:
    # librdkafka logs go to Python logging (shown by pytest on failure), not straight to stderr.
    conf: dict[str, Any] = {
        "bootstrap.servers": kafka_bootstrap,
        "logger": logging.getLogger("tests.librdkafka"),
    }
    return AdminClient(conf)


@pytest.fixture
def topic_factory(kafka_admin: AdminClient) -> Iterator[TopicFactory]:
    """``topic_factory(prefix="t", partitions=1, config=None) -> str``: a new, uniquely named topic."""
    factory = TopicFactory(kafka_admin)
    yield factory
    factory.cleanup()


@pytest.fixture
def group_factory() -> Callable[[], str]:
    """``group_factory() -> str``: a new consumer group id."""
    return lambda: f"g-{uuid.uuid4().hex[:12]}"
