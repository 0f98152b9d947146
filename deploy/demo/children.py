"""The demo's child processes (sandboxes, workers): each in its own process group, logging to a file in the
work dir, listed in ``processes.json`` so anyone can check that none outlives the demo.

A child gets SIGTERM if the demo dies without cleaning up (Linux: ``PR_SET_PDEATHSIG``), and :meth:`stop_all`
terminates every group, waits a bounded time, then kills what is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from deploy.local.process import die_with_parent_hook

__all__ = ["Child", "ChildFailed", "Children"]


class ChildFailed(RuntimeError):
    """A child exited or did not get ready in time; the message ends with its log's tail."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def log_tail(self, lines: int = 20) -> str:
        tail = self.log_text().splitlines()[-lines:]
        return f"--- {self.log} (last {len(tail)} lines) ---\n" + "\n".join(tail)

    def wait_until(self, ready: Callable[[], bool], *, timeout: float, what: str) -> None:
        """Poll ``ready`` until it holds; raise :class:`ChildFailed` if the child exits or time runs out."""
        deadline = time.monotonic() + timeout
        while not ready():
            if not self.running():
                raise ChildFailed(f"{self.name} exited (code {self.process.returncode}).\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise ChildFailed(f"{self.name}: no {what} within {timeout:.0f}s.\n{self.log_tail()}")
            time.sleep(0.1)


class Children:
    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._children: list[Child] = []

    def __iter__(self) -> Iterator[Child]:
        return iter(list(self._children))

    def spawn(self, name: str, args: Sequence[str], env: Mapping[str, str] | None = None) -> Child:
        log = self._workdir / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self._workdir,
                env=dict(env) if env is not None else None,
                # Its own group: Ctrl-C reaches the demo only, which then stops every child in order.
                start_new_session=True,
                preexec_fn=die_with_parent_hook(),
            )
        child = Child(name, process, log)
        self._children.append(child)
        self._record()
        return child

    def stop_all(self, timeout: float = 20.0) -> list[str]:
        """SIGTERM every group (workers first: they leave the consumer group while the broker is up), wait
        up to ``timeout`` seconds, SIGKILL the rest. Returns the names that had to be killed."""
        killed = []
        live = [child for child in reversed(self._children) if child.running()]
        for child in live:
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in live:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(max(0.1, deadline - time.monotonic()))
            if child.running():
                killed.append(child.name)
                _signal_group(child, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.process.wait(5.0)
        return killed

    def stop(self, child: Child, timeout: float = 20.0) -> None:
        if not child.running():
            return
        _signal_group(child, signal.SIGTERM)
        try:
            child.process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.process.wait(5.0)

    def _record(self) -> None:
        listing = [{"name": c.name, "pid": c.pid, "args": c.process.args} for c in self._children]
        (self._workdir / "processes.json").write_text(json.dumps(listing, indent=2, default=str))


def _signal_group(child: Child, sig: signal.Signals) -> None:
    # The group id is the child's pid (start_new_session); it may already be gone.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, sig)
