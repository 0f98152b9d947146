"""TableStorage and CircuitBoard over a plain dict: state survives a new board, writes are reassignments."""

from __future__ import annotations

from typing import Any

import pybreaker
import pytest

from adapters.errors import ErrorCode, Unavailable, ValidationFailed
from streams.circuit import CircuitBoard, CircuitOpen, TableStorage, Transition
from streams.registry import CircuitSettings
from streams.retry import Failure, FailureKind
from tests.unit.streams.fakes import FakeClock

SETTINGS = CircuitSettings(fail_max=2, reset_timeout_seconds=30)
KEY = "p1|DENTRIX"


class RecordingTable(dict[str, Any]):
    """A dict that counts assignments: a Faust table only changelogs what is reassigned."""

    def __init__(self) -> None:
        super().__init__()
        self.assignments = 0

    def __setitem__(self, key: str, value: Any) -> None:
        self.assignments += 1
        super().__setitem__(key, value)


def test_storage_defaults_to_closed_with_zero_counters() -> None:
    storage = TableStorage({}, KEY)
    assert (storage.state, storage.counter, storage.success_counter) == ("closed", 0, 0)
    assert storage.opened_at is None
    assert storage.parked_until is None


def test_every_change_is_a_reassignment_of_a_new_value() -> None:
    table = RecordingTable()
    storage = TableStorage(table, KEY)
    storage.increment_counter()
    first = table[KEY]
    storage.increment_counter()
    storage.state = "open"
    storage.park(123.0)

    assert table.assignments == 4
    assert first == {"state": "closed", "counter": 1, "successes": 0}  # not mutated in place
    assert table[KEY] == {"state": "open", "counter": 2, "successes": 0, "parked_until": 123.0}


def test_a_change_to_what_is_already_there_writes_nothing() -> None:
    table = RecordingTable()
    storage = TableStorage(table, KEY)
    storage.reset_counter()  # what pybreaker does after every success of a closed circuit
    storage.state = "closed"
    assert table.assignments == 0
    storage.increment_counter()
    storage.reset_counter()
    storage.reset_counter()
    assert table.assignments == 2


async def test_successful_calls_of_a_closed_circuit_leave_the_table_alone() -> None:
    table = RecordingTable()
    board = CircuitBoard(table)

    async def ok() -> str:
        return "ok"

    for _ in range(3):
        assert await board.call("p1", "DENTRIX", SETTINGS, ok) == "ok"
    assert table.assignments == 0


def test_opened_at_round_trips_as_epoch_seconds(clock: FakeClock) -> None:
    from datetime import UTC, datetime

    table: dict[str, Any] = {}
    instant = datetime.fromtimestamp(clock(), UTC)
    TableStorage(table, KEY).opened_at = instant
    assert table[KEY]["opened_at"] == clock()
    assert TableStorage(table, KEY).opened_at == instant


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param(None, None, id="fresh"),
        pytest.param({"state": "closed", "counter": 1}, None, id="closed"),
        pytest.param(
            {"state": "open", "opened_at": -10.0},
            Failure(ErrorCode.CIRCUIT_OPEN, True, retry_after=20.0, kind=FailureKind.CIRCUIT_OPEN),
            id="open",
        ),
        pytest.param({"state": "open", "opened_at": -30.0}, None, id="open-timeout-elapsed"),
        pytest.param(
            {"state": "closed", "parked_until": 45.0},
            Failure(ErrorCode.RATE_LIMITED, True, retry_after=45.0, kind=FailureKind.PARKED),
            id="parked",
        ),
        pytest.param({"state": "closed", "parked_until": 0.0}, None, id="park-over"),
        pytest.param(
            {"state": "open", "opened_at": -10.0, "parked_until": 100.0},
            Failure(ErrorCode.RATE_LIMITED, True, retry_after=100.0, kind=FailureKind.PARKED),
            id="parked-and-open",
        ),
    ],
)
def test_rejection(clock: FakeClock, entry: dict[str, Any] | None, expected: Failure | None) -> None:
    """Times in ``entry`` are relative to the clock's now."""
    table: dict[str, Any] = {}
    if entry is not None:
        table[KEY] = {
            key: clock() + value if key in ("opened_at", "parked_until") else value
            for key, value in entry.items()
        }
    board = CircuitBoard(table, clock=clock)
    assert board.rejection("p1", "DENTRIX", SETTINGS) == expected


def test_park_only_ever_extends(clock: FakeClock) -> None:
    board = CircuitBoard({}, clock=clock)
    board.park("p1", "DENTRIX", 120)
    board.park("p1", "DENTRIX", 10)
    assert board.storage("p1", "DENTRIX").parked_until == clock() + 120
    board.park("p1", "EAGLESOFT", 5)
    assert board.storage("p1", "DENTRIX").parked_until == clock() + 120


async def _fail(board: CircuitBoard, error: Exception) -> None:
    async def boom() -> None:
        raise error

    with pytest.raises(type(error)):
        await board.call("p1", "DENTRIX", SETTINGS, boom)


async def _ok() -> str:
    return "ok"


async def test_open_state_survives_a_new_board_over_the_same_table(clock: FakeClock) -> None:
    table: dict[str, Any] = {}
    transitions: list[Transition] = []
    board = CircuitBoard(table, notify=transitions.append, clock=clock)
    for _ in range(SETTINGS.fail_max):
        await _fail(board, Unavailable("503"))
    assert [(t.old, t.new, t.failures) for t in transitions] == [("closed", "open", 2)]

    restarted = CircuitBoard(table, clock=clock)
    assert restarted.state("p1", "DENTRIX") == pybreaker.STATE_OPEN
    assert restarted.rejection("p1", "DENTRIX", SETTINGS) is not None
    with pytest.raises(CircuitOpen):
        await restarted.call("p1", "DENTRIX", SETTINGS, _ok)

    clock.advance(SETTINGS.reset_timeout_seconds)
    assert await restarted.call("p1", "DENTRIX", SETTINGS, _ok) == "ok"
    assert table[KEY]["state"] == "closed"


async def test_only_retryable_failures_count(clock: FakeClock) -> None:
    table: dict[str, Any] = {}
    board = CircuitBoard(table, clock=clock)
    await _fail(board, Unavailable("503"))
    await _fail(board, ValidationFailed("bad input"))
    await _fail(board, KeyError("a bug, not the PMS"))
    assert table[KEY]["state"] == "closed"
    assert table[KEY]["counter"] == 0  # pybreaker treats an excluded error as a success
