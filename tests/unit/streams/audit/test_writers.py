"""Writers: CSV per RFC 4180 (CRLF, quotes only where needed, doubled quotes), ISO-8601 UTC instants."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from streams.audit.writers import Format, write_table

TS = pa.timestamp("us", tz="UTC")
TABLE = pa.table(
    {
        "id": pa.array(["plain", 'say "hi"', "a,b", "two\r\nlines", None], pa.string()),
        "at": pa.array([1_772_460_000_412_000, 0, None, 1, 2], pa.int64()).cast(TS),
        "n": pa.array([1, None, 3, 4, 5], pa.int32()),
        "flag": pa.array([True, False, None, True, False]),
    }
)


def test_csv_is_rfc_4180(tmp_path: Path) -> None:
    path = write_table(TABLE, tmp_path, "t", Format.CSV)
    assert path.name == "t.csv"
    assert path.read_bytes().decode("utf-8") == (
        "id,at,n,flag\r\n"
        "plain,2026-03-02T14:00:00.412000Z,1,true\r\n"
        '"say ""hi""",1970-01-01T00:00:00.000000Z,,false\r\n'
        '"a,b",,3,\r\n'
        '"two\r\nlines",1970-01-01T00:00:00.000001Z,4,true\r\n'
        ",1970-01-01T00:00:00.000002Z,5,false\r\n"
    )


def test_jsonl_has_one_object_per_line_and_null_for_no_value(tmp_path: Path) -> None:
    lines = write_table(TABLE, tmp_path, "t", Format.JSONL).read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""
    assert json.loads(lines[0]) == {"id": "plain", "at": "2026-03-02T14:00:00.412000Z", "n": 1, "flag": True}
    assert json.loads(lines[2]) == {"id": "a,b", "at": None, "n": 3, "flag": None}


def test_parquet_keeps_types(tmp_path: Path) -> None:
    back = pq.read_table(write_table(TABLE, tmp_path, "t", Format.PARQUET))
    assert back.schema.field("at").type == TS
    assert back.equals(TABLE)
