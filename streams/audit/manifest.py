"""The manifest: what a report covers and a fingerprint of every file in it, so a kept report can be checked.

``manifest.json`` names the range, the start and end offsets read per partition (and what each topic still
retained), the counts, the sha256 and size of every other file in the directory, the fingerprints of the
schemas the reader knew, the tool's version and when it was made. :func:`verify` recomputes what can be
recomputed and lists every difference; an empty list means the directory is what the audit wrote.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from schemas import SchemaCatalog
from streams.audit.reading import PartitionRange

__all__ = ["MANIFEST", "build_manifest", "file_entry", "tool_version", "verify", "write_manifest"]

MANIFEST = "manifest.json"
_FORMAT = 1  # of the manifest itself; bumped on an incompatible change


def tool_version() -> str:
    try:
        return metadata.version("pms-relay")
    except metadata.PackageNotFoundError:
        return "unknown"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(path: Path, rows: int | None) -> dict[str, Any]:
    return {"sha256": sha256_of(path), "bytes": path.stat().st_size, "rows": rows}


def offsets(ranges: Iterable[PartitionRange]) -> dict[str, list[dict[str, int]]]:
    by_topic: dict[str, list[dict[str, int]]] = {}
    for r in ranges:
        by_topic.setdefault(r.topic, []).append(
            {
                "partition": r.partition,
                "start": r.start,
                "end": r.end,
                "earliest_retained": r.low,
                "high": r.high,
            }
        )
    return by_topic


def build_manifest(
    *,
    window: Mapping[str, Any],
    read: Iterable[PartitionRange],
    lookback: Iterable[PartitionRange],
    data_gone: Iterable[PartitionRange],
    counts: Mapping[str, Any],
    reading: Mapping[str, Any],
    files: Mapping[str, Mapping[str, Any]],
    registry: SchemaCatalog,
    generated_at: datetime,
) -> dict[str, Any]:
    return {
        "manifest_format": _FORMAT,
        "tool": {"name": "pms-relay audit", "version": tool_version()},
        "generated_at": generated_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "range": dict(window),
        "offsets": offsets(read),
        "lookback_offsets": offsets(lookback),
        "data_gone": [
            {"topic": r.topic, "partition": r.partition, "earliest_retained": r.low} for r in data_gone
        ],
        "counts": dict(counts),
        "reading": dict(reading),
        "files": {name: dict(entry) for name, entry in sorted(files.items())},
        "schemas": sorted(
            ({"name": w.name, "version": w.version, "fingerprint": w.fingerprint.hex()} for w in registry),
            key=lambda s: (s["name"], s["version"] or 0, s["fingerprint"]),
        ),
    }


def write_manifest(directory: Path, manifest: Mapping[str, Any]) -> Path:
    path = directory / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def verify(directory: Path) -> list[str]:
    """Every way ``directory`` differs from its manifest; empty when it is intact."""
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files: dict[str, Any] = manifest["files"]
    except FileNotFoundError:
        return [f"no {MANIFEST} in {directory}"]
    except (ValueError, KeyError, TypeError) as exc:
        return [f"{MANIFEST} is not a manifest ({type(exc).__name__})"]
    problems = []
    for name, entry in sorted(files.items()):
        problems += _check(directory / name, name, entry)
    present = {p.name for p in directory.iterdir() if p.is_file() and p.name != MANIFEST}
    problems += [f"{name}: not in the manifest" for name in sorted(present - set(files))]
    return problems


def _check(path: Path, name: str, entry: Mapping[str, Any]) -> list[str]:
    if not path.is_file():
        return [f"{name}: missing"]
    if path.stat().st_size != entry.get("bytes"):
        return [f"{name}: {path.stat().st_size} bytes, the manifest says {entry.get('bytes')}"]
    if sha256_of(path) != entry.get("sha256"):
        return [f"{name}: sha256 differs from the manifest"]
    return []
