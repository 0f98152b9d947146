"""The observer seam: the pipeline reports what happens through this one small interface.

Every outcome, PMS call, retry, dead letter and circuit change goes through an :class:`Observer`; tracing
(:class:`streams.tracing.TracingObserver`) is one implementation, metrics another. Observers see ids, codes,
counts and durations only: never a payload.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from typing import TYPE_CHECKING, Protocol

from adapters.errors import ErrorCode

if TYPE_CHECKING:
    from streams.circuit import Transition
    from streams.outcome import Outcome
    from streams.received import Received

__all__ = ["NO_OBSERVER", "Observer", "Observers"]


class Observer(Protocol):
    def handling(self, received: Received) -> AbstractContextManager[None]:
        """Wraps the handling of one message (a span, a timer)."""
        ...

    def finished(self, received: Received, outcome: Outcome, code: ErrorCode | None) -> None:
        """The step of ``received`` is done: ``outcome``, with the error code where there is one."""

    def crashed(self, received: Received, exception_type: str) -> None:
        """A bug: handling ``received`` raised (it is answered INTERNAL and dead-lettered)."""

    def pms_called(
        self, received: Received, pms: str, operation: str, seconds: float, code: ErrorCode | None
    ) -> None:
        """One PMS ``operation`` (the command's type, or ``FindByReference`` for a reconcile look-up) took
        ``seconds``, in-call retries included; ``code`` when it failed."""

    def retry_scheduled(self, received: Received, tier: int, code: ErrorCode) -> None: ...

    def dead_lettered(self, received: Received, code: ErrorCode) -> None:
        """A copy of ``received`` is on the dead-letter topic (retries used up, undecodable, or a bug)."""

    def circuit_changed(self, transition: Transition) -> None: ...

    def sending(self, topic: str, received: Received | None) -> AbstractContextManager[None]:
        """Wraps sending one event (a PRODUCER span)."""
        ...


class _Null:
    def handling(self, received: Received) -> AbstractContextManager[None]:
        return nullcontext()

    def finished(self, received: Received, outcome: Outcome, code: ErrorCode | None) -> None:
        pass

    def crashed(self, received: Received, exception_type: str) -> None:
        pass

    def pms_called(
        self, received: Received, pms: str, operation: str, seconds: float, code: ErrorCode | None
    ) -> None:
        pass

    def retry_scheduled(self, received: Received, tier: int, code: ErrorCode) -> None:
        pass

    def dead_lettered(self, received: Received, code: ErrorCode) -> None:
        pass

    def circuit_changed(self, transition: Transition) -> None:
        pass

    def sending(self, topic: str, received: Received | None) -> AbstractContextManager[None]:
        return nullcontext()


NO_OBSERVER: Observer = _Null()


class Observers:
    """Several observers as one, in order (context managers nest in that order)."""

    def __init__(self, observers: Sequence[Observer]) -> None:
        self._all = tuple(observers)

    @contextmanager
    def handling(self, received: Received) -> Iterator[None]:
        with ExitStack() as stack:
            for observer in self._all:
                stack.enter_context(observer.handling(received))
            yield

    def finished(self, received: Received, outcome: Outcome, code: ErrorCode | None) -> None:
        for observer in self._all:
            observer.finished(received, outcome, code)

    def crashed(self, received: Received, exception_type: str) -> None:
        for observer in self._all:
            observer.crashed(received, exception_type)

    def pms_called(
        self, received: Received, pms: str, operation: str, seconds: float, code: ErrorCode | None
    ) -> None:
        for observer in self._all:
            observer.pms_called(received, pms, operation, seconds, code)

    def retry_scheduled(self, received: Received, tier: int, code: ErrorCode) -> None:
        for observer in self._all:
            observer.retry_scheduled(received, tier, code)

    def dead_lettered(self, received: Received, code: ErrorCode) -> None:
        for observer in self._all:
            observer.dead_lettered(received, code)

    def circuit_changed(self, transition: Transition) -> None:
        for observer in self._all:
            observer.circuit_changed(transition)

    @contextmanager
    def sending(self, topic: str, received: Received | None) -> Iterator[None]:
        with ExitStack() as stack:
            for observer in self._all:
                stack.enter_context(observer.sending(topic, received))
            yield
