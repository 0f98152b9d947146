"""Where the dashboard's feed starts reading each partition it assigns itself, and where it has caught up."""

from __future__ import annotations

import pytest
from confluent_kafka import OFFSET_BEGINNING

from ops.dashboard.feed import assignment

BEGIN = OFFSET_BEGINNING


@pytest.mark.parametrize(
    ("marks", "tail", "starts", "unread"),
    [
        pytest.param({0: (0, 0)}, None, {0: BEGIN}, {}, id="empty status: nothing to read"),
        pytest.param(
            {0: (3, 9), 1: (0, 0)}, None, {0: BEGIN, 1: BEGIN}, {0: 9}, id="status: all, up to its end"
        ),
        pytest.param({0: (0, 900)}, 500, {0: 400}, {0: 900}, id="alerts: the last 500"),
        pytest.param({0: (850, 900)}, 500, {0: 850}, {0: 900}, id="fewer than the tail: the oldest kept"),
        pytest.param({2: (7, 7)}, 200, {2: 7}, {}, id="dead letters all deleted: at the end"),
    ],
)
def test_assignment(
    marks: dict[int, tuple[int, int]], tail: int | None, starts: dict[int, int], unread: dict[int, int]
) -> None:
    assert assignment(marks, tail) == (starts, unread)
