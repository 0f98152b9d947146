"""How a fetched message reaches the streams: handed over inline when nothing makes it wait.

faust-streaming 0.15.3's fetch loop (``Consumer._drain_messages``) delivers every message through
``Service.wait_first(callback(message), suspend_flow.wait())``: four tasks (the delivery, the suspend flag, the
consumer's stopped and crashed flags), an ``asyncio.wait`` and three cancellations per message, so that a
delivery blocked by a rebalance (flow control suspended, a full stream buffer, a producer buffer over its
bound) is abandoned. Nearly every delivery blocks on nothing: the callback puts the event in its stream's
queue and returns. But each task costs a turn of the event loop, and with hundreds of commands' jobs ready on
the loop a turn is long: measured at 315 commands/s, a command waited a median 60-120 ms between the broker and
the relay's intake, and the fetcher sent its next fetch only when the batch before was delivered.

:class:`PromptDelivery` keeps the loop as faust has it (same offsets, gaps, commits, flags and yields) and
changes only the hand-over: the callback runs inline up to its first suspension. When it completes there, it
is delivered, as it would have been; when it suspends, the rest of it goes through ``wait_first`` exactly as
before, so a delivery that must wait is still abandoned on a rebalance or a stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any, cast

from faust.transport.consumer import CONSUMER_FETCHING
from mode import Service

__all__ = ["PromptDelivery", "step"]


class _Suspended:
    """The rest of a coroutine that was started by hand and suspended on ``pending`` (what it yielded)."""

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        # The task awaiting this waits for what the coroutine yielded, then resumes it, exactly as if the task
        # had run the coroutine from the start (cancellation and errors are thrown into it the same way).
        pending = self._pending
        while True:
            try:
                sent = yield pending
            except BaseException as exc:
                try:
                    pending = self._coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    pending = self._coro.send(sent)
                except StopIteration as stop:
                    return stop.value


def step(coro: Coroutine[Any, Any, Any]) -> Awaitable[Any] | None:
    """Run ``coro`` up to its first suspension: None when it completed, else an awaitable of the rest.

    An exception raised before the first suspension propagates, as awaiting the coroutine would raise it.
    """
    try:
        pending = coro.send(None)
    except StopIteration:
        return None
    return _Suspended(coro, pending)


class PromptDelivery:
    """A faust consumer mix-in: its fetch loop hands messages over inline (see the module's docstring)."""

    async def _drain_messages(self, fetcher: Any) -> None:
        # faust 0.15.3's loop line for line, but for the delivery; its comments are kept where they say why.
        consumer: Any = self
        callback = consumer.callback
        getmany = consumer.getmany
        consumer_should_stop = cast(Service, consumer)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set

        get_read_offset = consumer._read_offset.__getitem__
        set_read_offset = consumer._read_offset.__setitem__
        set_flag = consumer.diag.set_flag
        unset_flag = consumer.diag.unset_flag
        commit_every = consumer._commit_every
        acks_enabled_for = consumer.app.topics.acks_enabled_for
        wait_first = consumer.wait_first
        suspend_flow = consumer.suspend_flow

        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(CONSUMER_FETCHING)
                ait = getmany(timeout=1.0)

                # Sleeping because sometimes getmany is called in a loop never releasing to the event loop.
                await consumer.sleep(0)
                if not consumer.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0

                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            # We have a gap in income messages.
                            if gap > 1 and r_offset and acks_enabled_for(message.topic):
                                await consumer._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None and consumer._n_acked >= commit_every:
                                consumer._n_acked = 0
                                await consumer.commit()
                            rest = step(callback(message))
                            if rest is not None:  # it waits: abandoned on a rebalance or a stop, as in faust
                                await wait_first(rest, suspend_flow.wait())
                            set_read_offset(tp, offset)
                        else:
                            # faust logs the key and value here; they may hold patient data: offsets only.
                            consumer.log.dev("DROPPED MESSAGE ROFF %r: tp=%r", offset, tp)
                    unset_flag(CONSUMER_FETCHING)

        except consumer.consumer_stopped_errors:
            if consumer.transport.app.should_stop:
                # we're already stopping so ignore
                consumer.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if consumer.transport.app.should_stop:
                # we're already stopping so ignore
                consumer.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            consumer.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(CONSUMER_FETCHING)
