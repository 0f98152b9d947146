"""The observer seam: the pipeline reports what happens through this one small interface.

Every outcome, PMS call, retry, dead letter and circuit change goes through an :class:`Observer`; tracing
(:class:`streams.tracing.TracingObserver`) is one implementation, metrics another. Observers see ids, codes,
counts and durations only: never a payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from adapters.errors import ErrorCode

if TYPE_CHECKING:
    from streams.circuit import Transition
    from streams.outcome import Outcome
    from streams.received import Received

__all__ = ["NO_OBSERVER", "QUIET", "Observer", "Observers"]

QUIET: AbstractContextManager[None] = nullcontext()
"""What an observer's ``handling`` or ``sending`` returns when it has nothing to wrap: :class:`Observers` leaves
it out, so a message costs only the contexts that do something (an ExitStack per message and per event sent
was about 6% of a command's CPU)."""


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
        return QUIET

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
        return QUIET


NO_OBSERVER: Observer = _Null()


class Observers:
    """Several observers as one, in order (context managers nest in that order)."""

    def __init__(self, observers: Sequence[Observer]) -> None:
        self._all = tuple(observers)

    def handling(self, received: Received) -> AbstractContextManager[None]:
        return _nested([observer.handling(received) for observer in self._all])

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

    def sending(self, topic: str, received: Received | None) -> AbstractContextManager[None]:
        return _nested([observer.sending(topic, received) for observer in self._all])


def _nested(contexts: list[AbstractContextManager[None]]) -> AbstractContextManager[None]:
    """The contexts nested in order, the quiet ones left out; one alone is returned as it is."""
    live = [context for context in contexts if context is not QUIET]
    if not live:
        return QUIET
    return live[0] if len(live) == 1 else _Nest(live)


class _Nest:
    __slots__ = ("_contexts", "_entered")

    def __init__(self, contexts: list[AbstractContextManager[None]]) -> None:
        self._contexts = contexts
        self._entered = ExitStack()

    def __enter__(self) -> None:
        with ExitStack() as stack:  # a context that fails to enter closes the ones entered before it
            for context in self._contexts:
                stack.enter_context(context)
            self._entered = stack.pop_all()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return self._entered.__exit__(kind, exc, tb)
