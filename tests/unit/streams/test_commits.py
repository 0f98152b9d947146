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
        "a gap in the offsets read (control records, compaction) is no hole",
        [("track", 10), ("track", 13), ("finish", 10), ("finish", 13)],
        14,
    ),
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
