"""StoreReadTable: reads answer from the store without faust's sensor hooks; writes still go through the table."""

from __future__ import annotations

from typing import Any

import faust
import pytest

from streams.tables import StoreReadTable


class CountingSensor(faust.Sensor):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    def on_table_get(self, table: Any, key: Any) -> None:
        self.gets += 1


@pytest.fixture
def app() -> faust.App:
    return faust.App("store-read-table-test", broker="kafka://localhost:1", store="memory://")


def make_table(app: faust.App) -> StoreReadTable:
    return StoreReadTable(app, name="entries", default=None, beacon=app.tables.beacon, key_type=str)


def faust_table(app: faust.App) -> faust.Table[Any, Any]:
    return faust.Table(app, name="plain", default=None, beacon=app.tables.beacon, key_type=str)


@pytest.mark.parametrize(
    ("stored", "key", "default", "expected"),
    [
        ({"a": {"phase": "DONE"}}, "a", None, {"phase": "DONE"}),
        ({"a": {"phase": "DONE"}}, "b", None, None),
        ({}, "b", "fallback", "fallback"),
        ({"a": 0}, "a", "fallback", 0),  # a falsy stored value is still the stored value
    ],
)
def test_get_answers_what_faust_table_answers(
    app: faust.App, stored: dict[str, Any], key: str, default: Any, expected: Any
) -> None:
    ours, faust_own = make_table(app), faust_table(app)
    for table in (ours, faust_own):
        table.data.update(stored)
    assert ours.get(key, default) == faust_own.get(key, default) == expected
    assert (key in ours) == (key in faust_own) == (key in stored)


def test_reads_skip_the_sensor_hooks_that_faust_table_calls(app: faust.App) -> None:
    sensor = CountingSensor()
    app.sensors.add(sensor)
    ours, faust_own = make_table(app), faust_table(app)
    for table in (ours, faust_own):
        table.data["a"] = 1
    faust_own.get("a"), faust_own.get("absent")
    assert sensor.gets == 2  # the hook this class exists to skip

    sensor.gets = 0
    ours.get("a"), ours.get("absent"), "a" in ours
    assert sensor.gets == 0


def test_writes_and_deletes_still_go_through_the_table(app: faust.App) -> None:
    """A write through the table reaches ``on_key_set`` (the changelog record and the set sensor)."""
    table = make_table(app)
    changes: list[tuple[str, Any]] = []
    table.on_key_set = lambda key, value: changes.append(("set", key))  # type: ignore[method-assign]
    table.on_key_del = lambda key: changes.append(("del", key))  # type: ignore[method-assign]

    table["a"] = {"phase": "IN_FLIGHT"}
    assert table.get("a") == {"phase": "IN_FLIGHT"}
    del table["a"]

    assert changes == [("set", "a"), ("del", "a")]
    assert table.get("a") is None
