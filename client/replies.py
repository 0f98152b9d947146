"""Answers as the platform sees them: the failures a command can end in, and matching answers to commands.

Failures, by what the caller should do::

    RelayClientError
    ├── RelayUnavailable        the cluster or a topic cannot be reached, or the broker refused the command
    ├── ReplyTimeout            no answer in time (the command may still be processed: reuse its id to retry)
    └── CommandFailed           the worker answered with an error event; ``code`` is the contract's ErrorCode
        ├── InvalidCommand          VALIDATION
        ├── NotFoundError           NOT_FOUND
        ├── ConflictError           CONFLICT
        ├── AccessDenied            UNAUTHORIZED, FORBIDDEN
        ├── UnsupportedError        UNSUPPORTED
        ├── UnknownPracticeError    UNKNOWN_PRACTICE
        ├── DeadlineExceededError   DEADLINE_EXCEEDED
        └── PMSUnavailableError     UNAVAILABLE, TIMEOUT, RATE_LIMITED, CIRCUIT_OPEN (retryable)
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import Callable
from enum import StrEnum

from adapters.errors import ErrorCode
from schemas.envelopes import ErrorEnvelope, ResultEnvelope

__all__ = [
    "AccessDenied",
    "Answer",
    "CommandFailed",
    "ConflictError",
    "DeadlineExceededError",
    "Delivery",
    "InvalidCommand",
    "NotFoundError",
    "PMSUnavailableError",
    "RelayClientError",
    "RelayUnavailable",
    "ReplyMatcher",
    "ReplyTimeout",
    "UnknownPracticeError",
    "UnsupportedError",
    "command_failed",
]

Answer = ResultEnvelope | ErrorEnvelope


# -- errors ----------------------------------------------------------------------------------------------------


class RelayClientError(Exception):
    """Base of everything this client raises."""


class RelayUnavailable(RelayClientError):
    """The cluster or one of the contract's topics cannot be reached, or the broker refused the command."""


class ReplyTimeout(RelayClientError, TimeoutError):
    """No answer within ``timeout`` seconds. The command may still run: resend with the same id to retry."""

    def __init__(self, command_id: uuid.UUID, timeout: float) -> None:
        super().__init__(f"no answer to command {command_id} within {timeout:g}s")
        self.command_id = command_id
        self.timeout = timeout


class CommandFailed(RelayClientError):
    """The worker answered with an error event. ``message`` carries ids and codes only."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        retryable: bool = False,
        http_status: int | None = None,
        attempts: int = 0,
        command_id: uuid.UUID | None = None,
    ) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.http_status = http_status
        self.attempts = attempts
        self.command_id = command_id


class InvalidCommand(CommandFailed):
    pass


class NotFoundError(CommandFailed):
    pass


class ConflictError(CommandFailed):
    pass


class AccessDenied(CommandFailed):
    pass


class UnsupportedError(CommandFailed):
    pass


class UnknownPracticeError(CommandFailed):
    pass


class DeadlineExceededError(CommandFailed):
    pass


class PMSUnavailableError(CommandFailed):
    pass


_FAILURES: dict[ErrorCode, type[CommandFailed]] = {
    ErrorCode.VALIDATION: InvalidCommand,
    ErrorCode.NOT_FOUND: NotFoundError,
    ErrorCode.CONFLICT: ConflictError,
    ErrorCode.UNAUTHORIZED: AccessDenied,
    ErrorCode.FORBIDDEN: AccessDenied,
    ErrorCode.UNSUPPORTED: UnsupportedError,
    ErrorCode.UNKNOWN_PRACTICE: UnknownPracticeError,
    ErrorCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    ErrorCode.UNAVAILABLE: PMSUnavailableError,
    ErrorCode.TIMEOUT: PMSUnavailableError,
    ErrorCode.RATE_LIMITED: PMSUnavailableError,
    ErrorCode.CIRCUIT_OPEN: PMSUnavailableError,
}


def command_failed(error: ErrorEnvelope) -> CommandFailed:
    """The exception an error event stands for: the most specific subclass of its code (INTERNAL: the base)."""
    kind = _FAILURES.get(error.code, CommandFailed)
    return kind(
        error.code,
        error.message,
        retryable=error.retryable,
        http_status=error.http_status,
        attempts=error.attempts,
        command_id=error.command_id,
    )


# -- matching answers to commands ------------------------------------------------------------------------------


class Delivery(StrEnum):
    MATCHED = "matched"  # completed a pending request
    DUPLICATE = "duplicate"  # a second answer to a command already answered
    LATE = "late"  # the caller stopped waiting (timeout, cancellation) before it came
    UNKNOWN = "unknown"  # not ours, or long forgotten


class ReplyMatcher:
    """Pending requests by command id. Loop-thread only, except :meth:`wants` (a dict lookup)."""

    def __init__(self, remember: int = 10_000) -> None:
        self._pending: dict[uuid.UUID, asyncio.Future[Answer]] = {}
        # Bounded memory of finished ids, only to tell duplicates and late answers from strangers in logs.
        self._finished: OrderedDict[uuid.UUID, Delivery] = OrderedDict()
        self._remember = remember

    @property
    def pending(self) -> int:
        return len(self._pending)

    def expect(self, command_id: uuid.UUID) -> asyncio.Future[Answer]:
        if command_id in self._pending:
            raise ValueError(f"command {command_id} is already awaiting an answer")
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        return future

    def wants(self, command_id: uuid.UUID) -> bool:
        return command_id in self._pending

    def deliver(self, answer: Answer, correlation_id: uuid.UUID | None = None) -> Delivery:
        command_id = answer.command_id or correlation_id
        return self._settle(command_id, lambda future: future.set_result(answer))

    def fail(self, command_id: uuid.UUID, exc: BaseException) -> Delivery:
        return self._settle(command_id, lambda future: future.set_exception(exc))

    def forget(self, command_id: uuid.UUID) -> None:
        """The caller stopped waiting; a later answer is LATE."""
        if self._pending.pop(command_id, None) is not None:
            self._finish(command_id, Delivery.LATE)

    def close(self, exc: BaseException) -> None:
        for command_id in list(self._pending):
            self.fail(command_id, exc)

    def _settle(
        self, command_id: uuid.UUID | None, settle: Callable[[asyncio.Future[Answer]], None]
    ) -> Delivery:
        if command_id is None:
            return Delivery.UNKNOWN
        future = self._pending.pop(command_id, None)
        if future is None:
            return self._finished.get(command_id, Delivery.UNKNOWN)
        if not future.done():  # done: its waiter was cancelled and has not forgotten it yet
            settle(future)
        self._finish(command_id, Delivery.DUPLICATE)
        return Delivery.MATCHED

    def _finish(self, command_id: uuid.UUID, later: Delivery) -> None:
        self._finished[command_id] = later
        while len(self._finished) > self._remember:
            self._finished.popitem(last=False)
