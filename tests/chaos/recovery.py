"""How the answers flowed around a worker's death: pure arithmetic on arrival times (no timing is asserted).

For a kill at ``t``:

- ``first_answer_s``: from the kill to the first answer of any command after it;
- ``stalled``: the command partitions that had work pending at the kill (sent, not yet answered) and then
  answered nothing for more than ``gap_s``: the dead worker's partitions, waiting for the group to move them;
- ``flowing_s``: from the kill until every partition with pending work answered again (answers arriving within
  ``in_flight_s`` of the kill were on their way before it and do not count);
- ``rate_back_s``: from the kill to the end of the last ``window_s`` window, before ``horizon`` (the next kill,
  or the end of sending: later the backlog runs out anyway), whose answer rate was below half the rate of the
  ``before_s`` before the kill; 0 when it never dropped that low. A group rebalance stops every worker, so
  the dip may come well after the kill (a dead member is noticed at its session timeout).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Recovery", "answer_rate", "recovery"]


@dataclass(frozen=True)
class Recovery:
    first_answer_s: float | None
    stalled: tuple[int, ...]
    flowing_s: float | None
    rate_back_s: float | None
    rate_before: float  # answers per second in the ``before_s`` before the kill


def recovery(
    kill: float,
    sent: Mapping[str, tuple[int, float]],  # command id -> (partition, time sent)
    first_answers: Mapping[str, float],  # command id -> time of its first answer
    *,
    horizon: float,
    gap_s: float = 2.0,
    before_s: float = 10.0,
    window_s: float = 2.0,
    in_flight_s: float = 0.5,
) -> Recovery:
    arrivals = sorted(first_answers.values())
    after = [t for t in arrivals if t > kill]
    pending = {
        partition
        for command_id, (partition, at) in sent.items()
        if at < kill and first_answers.get(command_id, float("inf")) > kill
    }
    resumed: dict[int, float] = {}
    for command_id, at in first_answers.items():
        partition = sent[command_id][0] if command_id in sent else None
        if partition in pending and at > kill + in_flight_s and at < resumed.get(partition, float("inf")):
            resumed[partition] = at
    stalled = tuple(sorted(p for p in pending if resumed.get(p, float("inf")) - kill > gap_s))
    flowing = max(resumed.values()) - kill if pending and set(resumed) == pending else None
    rate_before = answer_rate(arrivals, kill - before_s, kill)
    return Recovery(
        first_answer_s=after[0] - kill if after else None,
        stalled=stalled,
        flowing_s=flowing,
        rate_back_s=_rate_back(arrivals, kill, horizon, rate_before, window_s),
        rate_before=rate_before,
    )


def answer_rate(arrivals: Sequence[float], start: float, end: float) -> float:
    """Answers per second in ``[start, end)`` of the sorted ``arrivals``."""
    if end <= start:
        return 0.0
    count = bisect.bisect_left(arrivals, end) - bisect.bisect_left(arrivals, start)
    return count / (end - start)


def _rate_back(
    arrivals: Sequence[float], kill: float, horizon: float, before: float, window: float
) -> float | None:
    if before <= 0:
        return None
    step, start, back = window / 8, kill, 0.0
    while start + window <= horizon:
        if answer_rate(arrivals, start, start + window) < before / 2:
            back = start + window - kill
        start += step
    return back
