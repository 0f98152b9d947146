"""verify: a report directory is checked against its manifest, file by file."""

from __future__ import annotations

import json
from pathlib import Path

from streams.audit.manifest import MANIFEST, file_entry, verify


def _report(tmp_path: Path) -> Path:
    (tmp_path / "a.csv").write_text("x\r\n")
    (tmp_path / "b.csv").write_text("y\r\n")
    files = {name: file_entry(tmp_path / name, 1) for name in ("a.csv", "b.csv")}
    (tmp_path / MANIFEST).write_text(json.dumps({"files": files}))
    return tmp_path


def test_an_intact_report_verifies(tmp_path: Path) -> None:
    assert verify(_report(tmp_path)) == []


def test_same_size_other_bytes_is_caught_by_sha256(tmp_path: Path) -> None:
    report = _report(tmp_path)
    (report / "a.csv").write_text("z\r\n")
    assert verify(report) == ["a.csv: sha256 differs from the manifest"]


def test_no_manifest_or_not_a_manifest(tmp_path: Path) -> None:
    assert verify(tmp_path) == [f"no {MANIFEST} in {tmp_path}"]
    (tmp_path / MANIFEST).write_text("[]")
    assert verify(tmp_path) == [f"{MANIFEST} is not a manifest (TypeError)"]
