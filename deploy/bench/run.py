"""What every section of the performance run shares: the broker, a work directory, the mode, and figures
one section hands to another (P3 paces at half of P1's throughput)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Context", "loadavg"]


def loadavg() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


@dataclass
class Context:
    bootstrap: str
    workdir: Path
    quick: bool
    relay_throughput: float | None = None  # P1's median relay commands/s, once P1 ran
    notes: list[str] = field(default_factory=list)

    def dir(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def pick(self, quick: int, full: int) -> int:
        return quick if self.quick else full
