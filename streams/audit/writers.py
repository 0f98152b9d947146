"""Writers: a report table as a file, in one of three formats an auditor can keep and read anywhere.

- ``csv``: RFC 4180 (comma, ``"`` quoting only where needed, CRLF line ends, a header row), UTF-8 without
  a BOM; an empty field is no value.
- ``jsonl``: one JSON object per line, UTF-8; no value is ``null``.
- ``parquet``: through pyarrow, zstd-compressed, instants as ``timestamp[us, UTC]``.

In CSV and JSON lines, instants are ISO-8601 in UTC with microseconds (``2026-03-02T14:00:00.412000Z``).
"""

from __future__ import annotations

import csv
import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["Format", "write_table"]

_ISO = "%Y-%m-%dT%H:%M:%SZ"  # Arrow's %S carries the fraction of a microsecond timestamp
_CHUNK = 65_536


class Format(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    JSONL = "jsonl"


def write_table(table: pa.Table, directory: Path, name: str, fmt: Format) -> Path:
    """Write ``table`` as ``directory/name.<fmt>``; returns the path."""
    path = directory / f"{name}.{fmt.value}"
    if fmt is Format.PARQUET:
        pq.write_table(table, path, compression="zstd")
    elif fmt is Format.CSV:
        _write_csv(table, path)
    else:
        _write_jsonl(table, path)
    return path


def _write_csv(table: pa.Table, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, dialect="excel", lineterminator="\r\n")  # RFC 4180
        writer.writerow(table.column_names)
        for rows in _rows(table, _csv_cell):
            writer.writerows(rows)


def _write_jsonl(table: pa.Table, path: Path) -> None:
    names = table.column_names
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for rows in _rows(table, None):
            out.writelines(
                json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False, separators=(",", ":"))
                + "\n"
                for row in rows
            )


def _rows(table: pa.Table, cell: Any) -> Any:
    """The rows of ``table`` in chunks, instants as ISO text, each value through ``cell`` when given."""
    for start in range(0, table.num_rows, _CHUNK):
        chunk = table.slice(start, _CHUNK)
        columns = [_texts(chunk.column(i)).to_pylist() for i in range(chunk.num_columns)]
        if cell is not None:
            columns = [[cell(value) for value in column] for column in columns]
        yield zip(*columns, strict=True)


def _texts(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.strftime(column, format=_ISO) if pa.types.is_timestamp(column.type) else column


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
