"""The audit window: which commands a report accounts for, and how long their answers may take.

A command is *in the range* when its message timestamp on ``pms.commands`` is in ``[start, end)``. Its answer
may arrive later (retry tiers, deadlines), so results, errors and dead letters are read up to ``end + horizon``,
or up to ``now`` when that is sooner. Commands from the ``horizon`` before ``start`` (the *lookback*) are read
for their ids only: an answer to one of them is a late answer from the previous period, not an orphan.

All instants are integer milliseconds since the epoch, as Kafka timestamps are; pure, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["DEFAULT_HORIZON", "AuditWindow", "millis"]

# A command without expires_at is given up 1 h after a worker first saw it (DEADLINE_EXCEEDED), after at most
# one more wait in the longest default tier (10 min) and a PMS call budget (30 s): two hours covers that.
DEFAULT_HORIZON = timedelta(hours=2)


def millis(instant: datetime) -> int:
    return int(instant.astimezone(UTC).timestamp() * 1000)


@dataclass(frozen=True)
class AuditWindow:
    start_ms: int
    end_ms: int
    horizon_ms: int
    now_ms: int

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise ValueError("the range must end after it starts (--to after --from)")
        if self.horizon_ms < 0:
            raise ValueError("the horizon cannot be negative")

    @classmethod
    def of(cls, start: datetime, end: datetime, horizon: timedelta, now: datetime) -> AuditWindow:
        return cls(millis(start), millis(end), int(horizon.total_seconds() * 1000), millis(now))

    @property
    def lookback_ms(self) -> int:
        """Where commands are read from, for their ids only."""
        return self.start_ms - self.horizon_ms

    @property
    def read_end_ms(self) -> int:
        """Where answers stop being read: the end of the horizon, or now."""
        return min(self.end_ms + self.horizon_ms, max(self.now_ms, self.start_ms))

    def in_range(self, timestamp_ms: int) -> bool:
        return self.start_ms <= timestamp_ms < self.end_ms

    def still_pending(self, command_ms: int) -> bool:
        """Whether a command with no answer may still get one: its horizon has not passed yet."""
        return self.now_ms < command_ms + self.horizon_ms
