"""The Dentrix sandbox as a subprocess (``pms-relay sandbox dentrix``): its CPU is its own, measurable, and
does not share the bench's GIL with the collector that timestamps answers."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from adapters.dentrix.sandbox.seed import build_seed
from deploy.local.ports import free_ports
from tests.contract.harness import KnownRecords
from tests.relay_system import wait_until

__all__ = ["SandboxProcess"]


class SandboxProcess:
    def __init__(self, workdir: Path, seed: int = 42) -> None:
        self._workdir = workdir
        self._seed = seed
        self._proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    @property
    def pid(self) -> int:
        assert self._proc is not None, "start() first"
        return self._proc.pid

    def start(self) -> SandboxProcess:
        port = free_ports("127.0.0.1", 1)[0]
        self.base_url = f"http://127.0.0.1:{port}"
        args = [
            sys.executable,
            "-m",
            "cli",
            "sandbox",
            "dentrix",
            "--port",
            str(port),
            "--seed",
            str(self._seed),
        ]
        log = (self._workdir / "sandbox.log").open("wb")
        self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        self._admin = httpx.Client(base_url=self.base_url, timeout=10.0)
        wait_until(self._answers, timeout=60, what="the Dentrix sandbox")
        summary = self._admin.get("/_admin/summary").json()
        self._client = summary["clients"][0]  # granted the first organizations
        self._org = next(o for o in summary["organizations"] if o["id"] in self._client["organizationIds"])
        self.known = _known_records(summary, self._org, self._seed)
        return self

    def _answers(self) -> bool:
        assert self._proc is not None
        if self._proc.poll() is not None:
            raise RuntimeError(f"the sandbox exited; see {self._workdir / 'sandbox.log'}")
        try:
            return self._admin.get("/_admin/summary").status_code == 200
        except httpx.TransportError:
            return False

    def connection(self) -> tuple[dict[str, Any], str]:
        """Registry connection settings (secret by reference to ``$BENCH_DENTRIX_SECRET``) and the secret."""
        connection = {
            "base_url": self.base_url,
            "organization_id": self._org["id"],
            "client_id": self._client["clientId"],
            "client_secret": {"env": "BENCH_DENTRIX_SECRET"},
        }
        return connection, str(self._client["clientSecret"])

    def set_latency(self, ms: float) -> None:
        """A fixed delay on every request (token calls included); 0 clears every fault."""
        rules = [{"kind": "latency", "dist": "fixed", "ms": ms}] if ms > 0 else []
        self._admin.post("/_admin/faults", json={"rules": rules}).raise_for_status()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._admin.close()


def _known_records(summary: dict[str, Any], org: dict[str, Any], seed: int) -> KnownRecords:
    """What the command builders need, as the contract harness finds it (the seed is deterministic)."""
    location = next(loc for loc in org["locations"] if loc["timeZone"] == "America/New_York")
    operatory = next(op for op in location["operatories"] if op["active"])
    data = build_seed(seed, date.fromisoformat(summary["anchor"]))
    patients = next(o for o in data.orgs if o.id == org["id"]).records["patients"]
    by_last = Counter(p["lastName"] for p in patients)
    last_name = min(by_last, key=lambda name: (-by_last[name], name))
    patient = next(p for p in patients if p["lastName"] == last_name)
    return KnownRecords(
        dst_location_id=location["id"],
        dst_location_zone=location["timeZone"],
        operatory_id=operatory["id"],
        provider_id=org["providers"][0],
        patient_id=patient["id"],
        patient_last_name=last_name,
        patient_first_name=patient["firstName"],
        patient_date_of_birth=date.fromisoformat(patient["dateOfBirth"]),
        patient_ids_with_last_name=frozenset(p["id"] for p in patients if p["lastName"] == last_name),
    )
