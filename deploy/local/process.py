"""The broker's OS process: pid file, liveness that survives pid reuse, polite then forceful stop."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["alive", "die_with_parent_hook", "read_pid", "stop"]

_PR_SET_PDEATHSIG = 1


def read_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def alive(pid: int, marker: str) -> bool:
    """Whether ``pid`` runs and is our broker: its command line must contain ``marker`` (a path in the data
    dir), so a recycled pid never passes for the broker. Zombies count as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: not ours
        return False
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():  # no procfs (macOS): trust kill(0)
        return True
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        return False
    return state != "Z" and marker in cmdline


def stop(pid: int, marker: str, timeout: float, reap: Callable[[], object] | None = None) -> None:
    """SIGTERM (Kafka shuts down cleanly on it), then SIGKILL after ``timeout`` seconds."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if reap is not None:
                reap()  # our own child: collect it so it does not linger as a zombie
            if not alive(pid, marker):
                return
            time.sleep(0.1)


def die_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGTERM when its parent dies (Linux only), so a test run
    killed with SIGKILL does not leave an orphan broker behind."""
    if not sys.platform.startswith("linux"):
        return None

    def hook() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook
