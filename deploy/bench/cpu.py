"""CPU time and resident memory of a process from ``/proc/<pid>/`` (Linux; psutil is not a dependency)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cpu_seconds", "parse_rss", "parse_stat", "rss_bytes"]

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


def parse_rss(text: str) -> int:
    """Resident bytes (``VmRSS``) from the text of ``/proc/<pid>/status``."""
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            value, unit = line.split()[1:3]
            if unit != "kB":
                raise ValueError(f"VmRSS in {unit}")
            return int(value) * 1024
    raise ValueError("no VmRSS line")


def rss_bytes(pid: int) -> int | None:
    """Resident memory of ``pid`` now; None when it is gone or /proc is not there."""
    try:
        return parse_rss(Path(f"/proc/{pid}/status").read_text())
    except (OSError, ValueError, IndexError):
        return None
