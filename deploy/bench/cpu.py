"""CPU time of a process from ``/proc/<pid>/stat`` (Linux; psutil is not a dependency)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cpu_seconds", "parse_stat"]

_TICKS = os.sysconf("SC_CLK_TCK")


def parse_stat(text: str, ticks_per_second: int = _TICKS) -> float:
    """User + system CPU seconds from the text of ``/proc/<pid>/stat`` (threads included, children not)."""
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5), counted from 1
    return (utime + stime) / ticks_per_second


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds used so far by ``pid``; None when it is gone or /proc is not there."""
    try:
        return parse_stat(Path(f"/proc/{pid}/stat").read_text())
    except (OSError, ValueError, IndexError):
        return None
