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
from collections.abc import Iterator
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
        writer = csv.writer(out, dialect="excel", lineterminator="\r\n")  # RFC 4180; None is written empty
        writer.writerow(table.column_names)
        for rows in _rows(table, texts=True):
            writer.writerows(rows)


def _write_jsonl(table: pa.Table, path: Path) -> None:
    names = table.column_names
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for rows in _rows(table, texts=False):
            out.writelines(
                json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False, separators=(",", ":"))
                + "\n"
                for row in rows
            )


def _rows(table: pa.Table, *, texts: bool) -> Iterator[Iterator[tuple[Any, ...]]]:
    """The rows of ``table`` in chunks: instants as ISO text, and with ``texts`` booleans as true/false too.
    Columns are converted by Arrow, a chunk at a time, never value by value in Python."""
    for start in range(0, table.num_rows, _CHUNK):
        chunk = table.slice(start, _CHUNK)
        columns = [_plain(chunk.column(i), texts).to_pylist() for i in range(chunk.num_columns)]
        yield zip(*columns, strict=True)


def _plain(column: pa.ChunkedArray, texts: bool) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        return column.cast(kind.value_type)
    if pa.types.is_timestamp(kind):
        return pc.strftime(column, format=_ISO)
    if texts and pa.types.is_boolean(kind):
        return column.cast(pa.string())
    return column
