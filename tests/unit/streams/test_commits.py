"""The commit rule: never past an unfinished message, whatever order messages finish in.

Each case is a script of steps on one partition and the offset the ledger may commit after it (None: nothing
new to commit). The first two are the cases faust-streaming 0.15.3 gets wrong (upstream #606).
"""

from __future__ import annotations

import pytest
from faust.types import TP

from streams.commits import CommitLedger, Ticket

TP0 = TP("pms.commands", 0)

# Steps: ("track", offset) | ("finish", offset) | ("commit",) the committable offset | ("revoke",) | ("open",)
CASES: list[tuple[str, list[tuple[object, ...]], int | None]] = [
    (
        "committed at 10, 10 still running, 11 and 12 finished: stays at 10",
        [("track", 10), ("track", 11), ("track", 12), ("finish", 11), ("finish", 12)],
        10,
    ),
    (
        "nothing committed yet, only 3 and 4 finished: 0 is the commit point",
        [*[("track", n) for n in range(5)], ("finish", 3), ("finish", 4)],
        0,
    ),
    (
        "everything finished: one past the last read",
        [("track", 7), ("track", 8), ("finish", 8), ("finish", 7)],
        9,
    ),
    ("in order, head finished: the next one", [("track", 7), ("track", 8), ("finish", 7)], 8),
    (
        "finished out of order until the head finishes last",
        [*[("track", n) for n in range(20, 25)], *[("finish", n) for n in (24, 22, 23, 21, 20)]],
        25,
    ),
    ("nothing read: nothing to commit", [], None),
    (
        "after a commit, nothing new: nothing to commit",
        [("track", 3), ("finish", 3), ("commit",)],
        None,
    ),
    (
        "after a commit, the head still running: nothing new",
        [("track", 3), ("track", 4), ("finish", 3), ("commit",)],
        None,
    ),
    (
        "a message read twice (a seek back) holds until both reads finish",
        [("track", 5), ("track", 5), ("track", 6), ("finish", 6), ("finish", 5)],
        5,
    ),
    (
        "revoked while 10 runs: its late finish moves nothing, nothing is committed",
        [("track", 10), ("track", 11), ("finish", 11), ("revoke",), ("finish-old", 10)],
        None,
    ),
    (
        "read while being revoked: not tracked, so not committed",
        [("track", 10), ("finish", 10), ("commit",), ("revoke",), ("track", 11)],
        None,
    ),
    (
        "assigned again after a revocation: a fresh book from where the broker's commit is",
        [
            ("track", 10),
            ("track", 11),
            ("finish", 11),
            ("revoke",),
            ("finish-old", 10),
            ("open",),
            ("track", 10),
        ],
        10,
    ),
    (
        "assigned again, the old run's late finishes count for nothing in the new book",
        [
            ("track", 10),
            ("revoke",),
            ("open",),
            ("track", 10),
            ("track", 11),
            ("finish", 11),
            ("finish-old", 10),
        ],
        10,
    ),
    (
        "a restart: the first offset read is the commit point until it finishes",
        [("track", 178), *[("track", n) for n in range(179, 213)], *[("finish", n) for n in range(179, 213)]],
        178,
    ),
]


@pytest.mark.parametrize(
    ("steps", "expected"), [(steps, expected) for _, steps, expected in CASES], ids=[c[0] for c in CASES]
)
def test_the_commit_point_never_passes_an_unfinished_message(
    steps: list[tuple[object, ...]], expected: int | None
) -> None:
    ledger = CommitLedger()
    tickets: dict[int, list[Ticket]] = {}
    old: dict[int, list[Ticket]] = {}
    for step in steps:
        match step:
            case ("track", int(offset)):
                ticket = ledger.track(TP0, offset)
                if ticket is not None:
                    tickets.setdefault(offset, []).append(ticket)
            case ("finish", int(offset)):
                tickets[offset].pop(0).finish()
            case ("finish-old", int(offset)):
                old[offset].pop(0).finish()
            case ("commit",):
                ledger.committed(ledger.committable())
            case ("revoke",):
                ledger.close({TP0})
                ledger.revoke({TP0})
                for offset, held in tickets.items():
                    old.setdefault(offset, []).extend(held)
                tickets = {}
            case ("open",):
                ledger.open({TP0})
    assert ledger.committable().get(TP0) == expected


def test_partitions_have_their_own_books() -> None:
    ledger = CommitLedger()
    retry = TP("pms.commands.retry.10s", 0)
    waiting = ledger.track(retry, 40)
    done = ledger.track(TP0, 5)
    assert waiting is not None
    assert done is not None
    done.finish()
    assert ledger.committable() == {TP0: 6, retry: 40}
    ledger.revoke({TP0})
    assert ledger.committable() == {retry: 40}


def test_a_ticket_finishes_once_and_knows_when_it_went_stale() -> None:
    ledger = CommitLedger()
    first = ledger.track(TP0, 1)
    second = ledger.track(TP0, 1)  # the same offset read again after a seek
    assert first is not None
    assert second is not None
    first.finish()
    first.finish()  # a second finish of one ticket must not finish the other read
    assert ledger.committable() == {TP0: 1}
    assert not second.stale
    ledger.revoke({TP0})
    assert second.stale


def test_the_faust_release_the_ledger_consumer_was_written_against() -> None:
    """LedgerConsumer overrides Faust internals; a new Faust release must be read before it is allowed."""
    from importlib.metadata import version

    from faust.transport.consumer import Consumer

    from streams.commits import LedgerConsumer

    assert version("faust-streaming") == "0.15.3"
    for name in (
        "ack",
        "_filter_tps_with_pending_acks",
        "_new_offset",
        "_commit_offsets",
        "on_partitions_revoked",
    ):
        assert hasattr(Consumer, name), name
        assert name in vars(LedgerConsumer), name


def test_a_message_after_a_hole_is_not_tracked_and_the_consumer_seeks_back_to_the_hole() -> None:
    """Faust 0.15.3 can drop records fetched between recovery's seek and its queue clearing."""
    sought: list[tuple[TP, int]] = []
    ledger = CommitLedger()
    ledger.on_hole = lambda tp, offset: sought.append((tp, offset))
    ledger.begin(TP0, 38)  # the committed offset the consumer was sought to
    assert ledger.track(TP0, 39, now=0.0) is None  # 38 was dropped
    assert ledger.track(TP0, 40, now=0.1) is None  # copies read before the seek back: no second seek
    assert sought == [(TP0, 38)]
    assert ledger.committable() == {TP0: 38}  # never past the hole
    again = [ledger.track(TP0, n, now=0.2) for n in (38, 39, 40)]  # read again, in order
    assert all(t is not None for t in again)
    for ticket in again:
        assert ticket is not None
        ticket.finish()
    assert ledger.committable() == {TP0: 41}


def test_a_first_message_dropped_on_a_partition_never_committed_is_read_again_from_the_log_start() -> None:
    sought: list[int] = []
    ledger = CommitLedger()
    ledger.on_hole = lambda _tp, offset: sought.append(offset)
    ledger.begin(TP0, 0)
    assert ledger.track(TP0, 1, now=0.0) is None
    assert sought == [0]


def test_a_hole_that_is_still_there_after_re_reads_is_a_gap_in_the_log() -> None:
    """A transaction marker or compaction leaves offsets no record will ever fill: read on past them."""
    sought: list[int] = []
    ledger = CommitLedger()
    ledger.on_hole = lambda _tp, offset: sought.append(offset)
    ledger.begin(TP0, 10)
    first = ledger.track(TP0, 10, now=0.0)
    assert first is not None
    first.finish()
    for now in (0.0, 2.5, 5.0):
        assert ledger.track(TP0, 12, now=now) is None  # 11 missing: read again, three times
    assert sought == [11, 11, 11]
    gap = ledger.track(TP0, 12, now=7.5)
    assert gap is not None
    gap.finish()
    assert ledger.committable() == {TP0: 13}


def test_the_last_messages_dropped_with_nothing_after_them_are_found_when_the_partition_stays_quiet() -> None:
    ledger = CommitLedger()
    ledger.begin(TP0, 5)
    idle = TP("pms.commands", 1)
    ledger.begin(idle, 7)
    positions = {
        TP0: (5, 6),
        idle: (7, 7),
    }  # Faust handed over 5 (never tracked); partition 1 has nothing new
    assert ledger.silent_holes(positions, now=100.0, quiet=30.0) == {TP0: 5}
    ticket = ledger.track(TP0, 5, now=100.0)
    assert ticket is not None
    assert ledger.silent_holes({TP0: (5, 6)}, now=110.0, quiet=30.0) == {}  # tracked: not silent


def test_only_the_relay_s_own_topics_begin_at_assignment() -> None:
    ledger = CommitLedger(topics={"pms.commands"})
    ledger.begin(TP("relay-inbox-changelog", 0), 4)
    ledger.begin(TP0, 4)
    assert list(ledger.tps()) == [TP0]
