"""The report directory: every table in the chosen format, ``summary.json``, and ``manifest.json`` last.

An existing report is never overwritten in part: the directory must be new or empty.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas import SchemaCatalog
from streams.audit.manifest import build_manifest, file_entry, write_manifest
from streams.audit.reading import PartitionRange
from streams.audit.replay import Findings
from streams.audit.report import Report
from streams.audit.window import AuditWindow
from streams.audit.writers import Format, write_table

__all__ = ["Archive", "window_fields", "write_archive"]

SUMMARY = "summary.json"


@dataclass(frozen=True)
class Archive:
    directory: Path
    manifest: dict[str, Any]
    data_gone: list[PartitionRange]
    lookback_truncated: bool


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def window_fields(window: AuditWindow, practice: str | None) -> dict[str, Any]:
    return {
        "from": iso(window.start_ms),
        "to": iso(window.end_ms),
        "horizon_seconds": window.horizon_ms / 1000,
        "answers_read_until": iso(window.read_end_ms),
        "lookback_from": iso(window.lookback_ms),
        "as_of": iso(window.now_ms),
        "practice": practice,
    }


def write_archive(
    report: Report,
    found: Findings,
    window: AuditWindow,
    *,
    directory: Path,
    fmt: Format,
    practice: str | None,
    registry: SchemaCatalog,
    reading: Mapping[str, Any],
) -> Archive:
    """Write the report into ``directory``; ``reading`` is how the reading went (events, seconds, cpu
    seconds), recorded in the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise FileExistsError(f"{directory} is not empty: a report goes into a new directory")
    plan = found.plan
    data_gone = [r for r in plan.in_range if r.data_gone]
    lookback_truncated = any(r.data_gone for r in plan.lookback)
    files = {}
    for name, table in report.tables.items():
        path = write_table(table, directory, name, fmt)
        files[path.name] = file_entry(path, table.num_rows)
    summary = {
        "range": window_fields(window, practice),
        **report.summary,
        "data_gone": [
            {"topic": r.topic, "partition": r.partition, "earliest_retained": r.low} for r in data_gone
        ],
        "lookback_truncated": lookback_truncated,
    }
    summary_path = directory / SUMMARY
    summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    files[SUMMARY] = file_entry(summary_path, None)
    manifest = build_manifest(
        window=window_fields(window, practice) | {"format": fmt.value},
        read=plan.in_range,
        lookback=plan.lookback,
        data_gone=data_gone,
        counts={
            "commands": report.summary["commands"],
            "by_outcome": report.summary["by_outcome"],
            "exceptions": report.summary["exceptions"],
            "events_read": {
                k.removeprefix("read:"): v for k, v in found.counts.items() if k.startswith("read:")
            },
        },
        reading=reading,
        files=files,
        registry=registry,
        generated_at=datetime.now(UTC),
    )
    write_manifest(directory, manifest)
    return Archive(directory, manifest, data_gone, lookback_truncated)
