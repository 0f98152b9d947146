"""The commit point: an offset is committed only when every message before it is finished.

Commands finish out of order by design (the scheduler runs unrelated commands concurrently, and retry copies
wait for their due time), so "acknowledged" is not enough: faust-streaming 0.15.3 commits past a message
that is still running (``Consumer._new_offset`` only looks at acknowledged offsets, and has no guard at all
when nothing was committed yet; upstream issue faust-streaming/faust#606). pms-relay owns the rule instead:

- every message is **tracked** when the worker reads it, and **finished** when its step is done;
- the committable offset of a partition is its lowest unfinished offset, or one past the highest tracked
  offset when nothing is unfinished (Kafka commits the next offset to read);
- offsets are read **without holes**: a book knows where its partition's reading starts (the position the
  consumer was sought to at assignment) and tracks only the next offset or earlier ones; a message that shows
  up past a hole means Faust dropped the ones before it (it does: recovery resumes fetching before it empties
  its queues, ``tables/recovery.py`` in 0.15.3, and a record fetched in between is thrown away), so the
  ledger does not track it and the consumer seeks back to the hole. A partition whose last messages were
  dropped, with nothing after them to show the hole, is sought back when it stays silent while Faust has
  handed over more than the book saw;
- a **revoked** partition's book is closed: a message still running from before the revocation finishes into
  a closed book and moves nothing, so a partition that comes back to this worker starts from the broker's
  committed offset and reads again whatever was not finished.

:class:`CommitLedger` is the pure rule (tested with tables); :class:`LedgerConsumer` makes Faust commit by it.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, ClassVar, cast

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from streams.delivery import PromptDelivery

__all__ = ["CommitLedger", "LedgerConsumer", "LedgerTransport", "PartitionBook", "Ticket"]

_log = logging.getLogger(__name__)

# A hole in the offsets read is read again this often, this far apart, before it is taken as a gap in the log.
_GAP_REREADS = 3
_GAP_REREAD_SECONDS = 2.0


class PartitionBook:
    """What one partition's worker holds: offsets read and not finished, and how far it has read."""

    __slots__ = (
        "_committed",
        "_heap",
        "_read_to",
        "_unfinished",
        "closed",
        "seek_attempts",
        "seeking_to",
        "sought_at",
        "touched",
    )

    def __init__(self, start: int | None = None) -> None:
        self._unfinished: dict[int, int] = {}  # offset -> times tracked and not finished (a re-read counts)
        self._heap: list[int] = []  # lazily pruned min-heap over _unfinished
        self._read_to: int | None = start  # the next offset to read: one past the highest offset tracked
        self._committed: int | None = None  # what the last commit through this book reached
        self.closed = False
        self.seeking_to: int | None = None  # a seek back to this hole is under way
        self.seek_attempts = 0
        self.sought_at = 0.0
        self.touched = 0.0  # monotonic time of the last message tracked

    @property
    def read_to(self) -> int | None:
        return self._read_to

    def begin(self, start: int) -> None:
        """Reading starts at ``start`` (where the consumer was sought to); only before anything is tracked."""
        if not self._unfinished and self._committed is None and self._read_to is None:
            self._read_to = start

    def skip_to(self, offset: int) -> None:
        """The offsets before ``offset`` hold no records (control records, compaction): read on from it."""
        self._read_to = offset
        self.seeking_to = None

    def hole_before(self, offset: int) -> int | None:
        """The first offset not read yet when ``offset`` shows up past it (None: no hole)."""
        if self._read_to is not None and offset > self._read_to:
            return self._read_to
        return None

    def track(self, offset: int) -> None:
        if self.seeking_to is not None and offset <= self.seeking_to:
            self.seeking_to = None  # the seek back arrived
        count = self._unfinished.get(offset, 0)
        self._unfinished[offset] = count + 1
        if count == 0:
            heapq.heappush(self._heap, offset)
        if self._read_to is None or offset + 1 > self._read_to:
            self._read_to = offset + 1

    def finish(self, offset: int) -> None:
        count = self._unfinished.get(offset, 0)
        if count <= 1:
            self._unfinished.pop(offset, None)
        else:
            self._unfinished[offset] = count - 1

    @property
    def unfinished(self) -> int:
        return len(self._unfinished)

    def lowest_unfinished(self) -> int | None:
        heap = self._heap
        while heap and heap[0] not in self._unfinished:
            heapq.heappop(heap)
        return heap[0] if heap else None

    def committable(self) -> int | None:
        """The offset to commit now, or None when there is nothing new to commit."""
        if self.closed or self._read_to is None:
            return None
        lowest = self.lowest_unfinished()
        offset = self._read_to if lowest is None else lowest
        if self._committed is not None and offset <= self._committed:
            return None
        return offset

    def committed(self, offset: int) -> None:
        if self._committed is None or offset > self._committed:
            self._committed = offset


class Ticket:
    """One tracked message: :meth:`finish` it once its step is done (a second call does nothing)."""

    __slots__ = ("_book", "offset")

    def __init__(self, book: PartitionBook, offset: int) -> None:
        self._book: PartitionBook | None = book
        self.offset = offset

    def finish(self) -> None:
        book, self._book = self._book, None
        if book is not None:
            book.finish(self.offset)

    @property
    def finished(self) -> bool:
        return self._book is None

    @property
    def stale(self) -> bool:
        """Its partition was revoked since it was read: its outcome no longer moves any commit."""
        return self._book is None or self._book.closed


class CommitLedger:
    """Books of every partition this worker reads and commits (commands and retry tiers)."""

    def __init__(self, topics: Iterable[str] = ()) -> None:
        self.topics = frozenset(topics)  # the topics whose books are begun at assignment (empty: any)
        self._books: dict[TP, PartitionBook] = {}
        self._closing: set[TP] = set()
        # Told of every hole found: the consumer seeks back to it.
        self.on_hole: Callable[[TP, int], None] = lambda _tp, _offset: None

    def track(self, tp: TP, offset: int, *, now: float | None = None) -> Ticket | None:
        """Track a message just read; None when it must not be handled now: its partition is being revoked
        (leave it to the next owner), or it came past a hole (the consumer is told to seek back to the hole,
        and it comes again in order)."""
        if tp in self._closing:
            return None
        book = self._books.get(tp)
        if book is None:
            book = self._books[tp] = PartitionBook()
        now = time.monotonic() if now is None else now
        hole = book.hole_before(offset)
        if hole is not None and not self._gap(tp, book, hole, offset, now):
            return None
        book.track(offset)
        book.touched = now
        return Ticket(book, offset)

    def _gap(self, tp: TP, book: PartitionBook, hole: int, offset: int, now: float) -> bool:
        """Whether the hole before ``offset`` is a real gap in the log (True: read on past it). A hole is first
        taken as dropped messages and read again; one that is still there after ``_GAP_REREADS`` re-reads, each
        ``_GAP_REREAD_SECONDS`` apart, holds no records (a transaction marker, compaction)."""
        if book.seeking_to != hole:
            book.seeking_to, book.seek_attempts, book.sought_at = hole, 1, now
            self.on_hole(tp, hole)
            return False
        if now - book.sought_at < _GAP_REREAD_SECONDS:
            return False  # copies read before the seek back are still coming
        if book.seek_attempts < _GAP_REREADS:
            book.seek_attempts += 1
            book.sought_at = now
            self.on_hole(tp, hole)
            return False
        _log.warning(
            "offsets missing after %s re-reads, taken as a gap topic=%s partition=%s from=%s to=%s",
            book.seek_attempts,
            tp.topic,
            tp.partition,
            hole,
            offset,
        )
        book.skip_to(offset)
        return True

    def begin(self, tp: TP, start: int) -> None:
        """``tp``'s reading starts at ``start``: a message after it that is never seen is a hole, not a gap."""
        if tp in self._closing or (self.topics and tp.topic not in self.topics):
            return
        book = self._books.get(tp)
        if book is None:
            self._books[tp] = PartitionBook(start)
        else:
            book.begin(start)

    def silent_holes(
        self, positions: dict[TP, tuple[int, int]], *, now: float, quiet: float
    ) -> dict[TP, int]:
        """Holes nothing came after: ``positions[tp]`` is (the last offset Faust handed over, the partition's
        highwater). Where Faust handed over the book's next offset or later, the log holds more than the book
        saw, and nothing was tracked for ``quiet`` seconds, the messages from the book's next offset on were
        dropped: the offset to seek back to."""
        holes = {}
        for tp, (delivered, highwater) in positions.items():
            book = self._books.get(tp)
            if book is None or book.closed or book.read_to is None:
                continue
            nxt = book.read_to
            if delivered >= nxt and highwater > nxt and now - book.touched >= quiet:
                holes[tp] = nxt
        return holes

    def committable(self, tps: Iterable[TP] | None = None) -> dict[TP, int]:
        chosen = self._books if tps is None else {tp: self._books[tp] for tp in tps if tp in self._books}
        offsets = {tp: book.committable() for tp, book in chosen.items()}
        return {tp: offset for tp, offset in offsets.items() if offset is not None}

    def committed(self, offsets: dict[TP, int]) -> None:
        for tp, offset in offsets.items():
            book = self._books.get(tp)
            if book is not None:
                book.committed(offset)

    def close(self, tps: Iterable[TP]) -> None:
        """A revocation of ``tps`` has begun: track nothing more of them until they are assigned again."""
        self._closing.update(tps)

    def open(self, tps: Iterable[TP]) -> None:
        """``tps`` are assigned (again): track them from a fresh book."""
        self._closing.difference_update(tps)

    def revoke(self, tps: Iterable[TP]) -> None:
        """Close the books of ``tps``: later finishes from before the revocation move nothing."""
        self._closing.update(tps)
        for tp in tps:
            book = self._books.pop(tp, None)
            if book is not None:
                book.closed = True

    def unfinished(self, tp: TP) -> int:
        book = self._books.get(tp)
        return book.unfinished if book is not None else 0

    def tps(self) -> Iterator[TP]:
        return iter(list(self._books))


RevokeHook = Callable[[set[TP]], Awaitable[None]]


# Two aiokafka fetch settings bound how long a command can sit on the broker unseen. aiokafka keeps one fetch
# in flight per broker, and sends none while any partition there still holds fetched records not yet taken.
# - ``prefetch_backoff``, how long such a partition may hold the others back: 0.1 s, not an AIOKafkaConsumer
#   option. Answers came out in clumps 0.1 s apart (P3 at 100/s, p99 of reads 108 -> 39 ms with 5 ms).
# - ``fetch_max_wait_ms``, how long the broker holds a fetch that found nothing: faust hard-codes 1.5 s. A
#   partition left out of the fetch in flight (it was holding records when the fetch went) waits that long for
#   its turn: whole bursts answered 1.5 s late. At 50 ms an idle worker sends 20 empty fetches a second.
PREFETCH_BACKOFF_S = 0.005
FETCH_MAX_WAIT_MS = 50


class _PromptFetching(faust_aiokafka.AIOKafkaConsumerThread):
    async def on_start(self) -> None:
        await super().on_start()
        fetcher = getattr(self._consumer, "_fetcher", None)
        if fetcher is not None and hasattr(fetcher, "_prefetch_backoff"):
            fetcher._prefetch_backoff = PREFETCH_BACKOFF_S
            fetcher._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        else:  # a newer aiokafka moved them: keep working, at the old latency
            _log.warning(
                "aiokafka's fetcher has no prefetch backoff to set; answers may come in 0.1 s clumps"
            )


class LedgerConsumer(PromptDelivery, faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, committing by a :class:`CommitLedger` instead of by acknowledgements.

    Faust still runs the commit loop (interval, producer flush before the commit, assignment check, table
    bookkeeping); only the choice of offsets and the start of a revocation are ours. Its fetch loop hands
    messages to the streams inline (:class:`~streams.delivery.PromptDelivery`).
    """

    ledger: CommitLedger
    before_revoke: RevokeHook | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ledger = CommitLedger()
        self.before_revoke = None
        self._seeks: set[asyncio.Task[None]] = set()

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _PromptFetching(self, loop=self.loop, beacon=self.beacon)

    def use_ledger(self, ledger: CommitLedger) -> None:
        self.ledger = ledger
        ledger.on_hole = self._seek_back

    def _seek_back(self, tp: TP, offset: int) -> None:
        _log.warning(
            "offsets read with a hole; seeking back topic=%s partition=%s offset=%s",
            tp.topic,
            tp.partition,
            offset,
        )
        # Through the consumer thread (seek_wait), never Consumer.seek: that calls aiokafka's seek from this
        # thread while the consumer thread may still hand out the batch it fetched and move the position on
        # past the hole, so every re-read missed it and the hole was taken as a gap (seen in a fail-over run).
        task = asyncio.ensure_future(self.seek_wait({tp: offset}))
        self._seeks.add(task)
        task.add_done_callback(self._seeks.discard)

    async def perform_seek(self) -> None:
        """Faust seeks every partition to its committed offset: each book begins there (or at the log start
        when nothing was committed), so a message dropped right after the seek is found as a hole."""
        await super().perform_seek()
        tps = [tp for tp in self.assignment() if not self.ledger.topics or tp.topic in self.ledger.topics]
        # The log start too: retention may have deleted records past the committed offset.
        earliest = await self.earliest_offsets(*tps) if tps else {}
        for tp in tps:
            starts = [o for o in (self._read_offset.get(tp), earliest.get(tp)) if o is not None and o >= 0]
            if starts:
                self.ledger.begin(tp, max(starts))

    def seek_silent_holes(self, *, quiet: float = 30.0) -> None:
        """Seek back where the last messages of a partition were dropped and nothing after them showed it."""
        positions = {}
        for tp in self.assignment():
            delivered = self._read_offset.get(tp)
            try:
                highwater = self.highwater(tp)
            except AssertionError:
                continue
            if delivered is not None and highwater is not None:
                positions[tp] = (delivered, highwater)
        for tp, offset in self.ledger.silent_holes(positions, now=time.monotonic(), quiet=quiet).items():
            self._seek_back(tp, offset)

    def ack(self, message: Any) -> bool:
        # Acknowledgements decide nothing here; keep Faust's own bookkeeping out of the way.
        message.acked = True
        return False

    def _filter_tps_with_pending_acks(self, topics: Any = None) -> Iterator[TP]:
        return (tp for tp in self.ledger.tps() if topics is None or tp in topics or tp.topic in topics)

    def _new_offset(self, tp: TP) -> int | None:
        return self.ledger.committable([tp]).get(tp)

    async def _commit_offsets(self, offsets: Any, start_new_transaction: bool = True) -> bool:
        assignment = self.assignment()
        did_commit: bool = await super()._commit_offsets(offsets, start_new_transaction)
        if did_commit:
            self.ledger.committed({tp: off for tp, off in offsets.items() if tp in assignment})
        return did_commit

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        # Before Faust forgets the partitions: let running work finish, commit what finished, close the books.
        self.ledger.close(revoked)
        if self.before_revoke is not None and revoked:
            await self.before_revoke(set(revoked))
        if revoked:
            await self.force_commit(set(revoked))
        self.ledger.revoke(revoked)
        await super().on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        self.ledger.open(assigned)
        await super().on_partitions_assigned(assigned, generation_id)

    def lag(self, topic: str) -> dict[int, int]:
        """Records behind in each assigned partition of ``topic``: the highwater of the last fetch less the
        group's committed offset (0 when nothing was committed yet). A partition not fetched yet is left out."""
        lags = {}
        for tp in self.assignment():
            if tp.topic != topic:
                continue
            try:
                highwater = self.highwater(tp)
            except AssertionError:  # aiokafka's own check: revoked between assignment() and here
                continue
            if highwater is not None:
                lags[tp.partition] = max(0, highwater - (self._committed_offset.get(tp) or 0))
        return lags


class LedgerTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport whose consumer commits by ``ledger`` and calls ``before_revoke`` first."""

    Consumer: ClassVar[type[Any]] = LedgerConsumer

    def __init__(self, url: Any, app: Any, *, ledger: CommitLedger, before_revoke: RevokeHook) -> None:
        super().__init__(url, app)
        self._ledger = ledger
        self._before_revoke = before_revoke

    def create_consumer(self, callback: Any, **kwargs: Any) -> LedgerConsumer:
        consumer = cast(LedgerConsumer, super().create_consumer(callback, **kwargs))
        consumer.use_ledger(self._ledger)
        consumer.before_revoke = self._before_revoke
        return consumer
