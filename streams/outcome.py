"""What one step of the pipeline did with a message: one enum, the same one for logs, spans and metrics."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TERMINAL", "Outcome"]


class Outcome(StrEnum):
    # answered (terminal for the command)
    SUCCEEDED = "succeeded"  # the PMS call succeeded: a result
    RECONCILED = "reconciled"  # an unknown write was found in the PMS: a result
    ANSWERED_ERROR = "answered_error"  # a permanent failure, or the retries were used up: an error
    DEAD_LETTERED = "dead_lettered"  # the retries were used up: a dead letter and an error
    DEADLINE_EXCEEDED = "deadline_exceeded"  # past expires_at (or max age): an error, no PMS call
    UNKNOWN_PRACTICE = "unknown_practice"  # not in the registry: an error
    UNDECODABLE = "undecodable"  # bad input: a VALIDATION error and a dead letter
    INTERNAL = "internal"  # a bug: an INTERNAL error and a dead letter
    REPLAYED = "replayed"  # answered before: the stored answer again, no PMS call
    # on its way (a copy waits in a retry tier)
    RETRYING = "retrying"  # a retryable failure
    RECONCILE_FAILED = "reconcile_failed"  # the look-up of an unknown write failed
    RECONCILE_WAIT = "reconcile_wait"  # an unknown write not (yet) in the PMS: wait out the stale-read grace
    FOLLOWING = "following"  # an earlier command of its subject waits in a retry tier: it follows
    CIRCUIT_REJECTED = "circuit_rejected"  # the practice's circuit is open
    PARKED = "parked"  # the practice is parked after a 429
    DEFERRED = "deferred"  # the practice's backlog in this worker was full
    # nothing to do
    STALE_COPY = "stale_copy"  # an older copy of a command whose newer copy is in a retry tier


TERMINAL = frozenset(
    {
        Outcome.SUCCEEDED,
        Outcome.RECONCILED,
        Outcome.ANSWERED_ERROR,
        Outcome.DEAD_LETTERED,
        Outcome.DEADLINE_EXCEEDED,
        Outcome.UNKNOWN_PRACTICE,
        Outcome.UNDECODABLE,
        Outcome.INTERNAL,
        Outcome.REPLAYED,
    }
)
"""Outcomes after which the command has its answer."""
