"""``pms-relay audit`` on the real broker, over a scripted history whose report is known to the last field.

The history (times from the range start B; range [B, B + 1 h), horizon 10 min, as of B + 65 min):

========================  =======================================================================
normal results            two commands, one result each (one with expires_at and requested_by)
a retried success         a result with attempts 2
an error                  CONFLICT, whose message quotes a patient (the report never reads it)
a dead letter             an UNAVAILABLE error and a dead letter after 4 attempts
MISSING                   no answer, past its horizon
PENDING                   no answer, 1 min before the end: inside its horizon as of B + 65 min
an orphan answer          a result for a command id never sent
DUPLICATE                 a result and an error with distinct ce_ids for one command
a replay                  the same result twice (same ce_id): one answer, two messages
undecodable bytes         on pms.commands (answered VALIDATION, dead-lettered) and on pms.results
just outside the range    a command at B - 1 ms (its answer inside: the previous period's), one at
                          exactly B + 1 h (excluded; its answer in the horizon is the next period's),
                          an answer at exactly the reading end (not read: its command stays MISSING)
inside the horizon        an answer after the range's end but before the reading end counts
========================  =======================================================================
"""

from __future__ import annotations

import csv
import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from typer.testing import CliRunner

from cli import app
from cli.audit import DATA_GONE_EXIT, run_audit
from streams.audit import Format, verify
from streams.audit.manifest import MANIFEST
from streams.topics import TopicNames
from tests.audit_history import Produced, Script, instant

pytestmark = pytest.mark.integration

MINUTE = 60_000
HORIZON = 10 * MINUTE
# Seeded patient data: none of it may appear in any file of the report.
PHI = ("Zebulon", "Quixotic-Marlowe", "1961-07-04", "zeb.quixotic@example.org", "Sunshine Q")


def _create(admin: AdminClient, topics: TopicNames, partitions: int = 3) -> list[str]:
    names = [topics.commands, topics.results, topics.errors, topics.dead_letters]
    futures = admin.create_topics([NewTopic(n, partitions, -1) for n in names], operation_timeout=30)
    for future in futures.values():
        future.result(30)
    return names


@pytest.fixture(scope="module")
def history(kafka_bootstrap: str) -> Iterator[dict[str, Any]]:
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    topics = TopicNames(prefix=f"audit{uuid.uuid4().hex[:8]}.")
    names = _create(admin, topics)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "partitioner": "murmur2_random"})
    # Two days ago, on a whole minute: well inside the topics' retention, far from the live clock.
    base = (int(time.time() * 1000) - 2 * 24 * 3600 * 1000) // MINUTE * MINUTE
    yield _write(Script(producer, topics), base)
    for future in admin.delete_topics(names, operation_timeout=30).values():
        future.result(30)


def _patient(**extra: Any) -> dict[str, Any]:
    return {
        "id": "p-1",
        "first_name": PHI[0],
        "last_name": PHI[1],
        "date_of_birth": PHI[2],
        "email": PHI[3],
        **extra,
    }


_CONNECTED = {"ok": True, "pms": "DENTRIX", "writable": True}
_LOCATIONS = {"locations": [{"id": "997", "name": "Main St", "time_zone": "America/New_York"}]}


def _write(s: Script, b: int) -> dict[str, Any]:
    end = b + 60 * MINUTE
    new_patient = {"patient": {"first_name": PHI[0], "last_name": PHI[1], "date_of_birth": PHI[2]}}
    search = {"query": {"last_name": PHI[1]}}
    booking = {
        "appointment": {
            "patient_id": "1234",
            "location_id": "997",
            "operatory_id": "9985",
            "provider_id": "995",
            "start": "2027-01-04T14:00:00Z",
            "end": "2027-01-04T14:30:00Z",
        }
    }
    h: dict[str, Any] = {"base": b, "end": end, "topics": s.topics}
    # In time order, as a log is appended: offsets_for_times finds the range's ends by timestamp.
    # just before the range: read for its id only; its answer, inside the range, is the previous period's
    h["before"] = s.command("smile-nyc", "ListLocations", {}, b - 1)
    s.result(h["before"], b + 30_000, payload=_LOCATIONS)
    h["normal"] = s.command(
        "smile-nyc",
        "CreatePatient",
        new_patient,
        b + 1 * MINUTE,
        requested_by="agent-7",
        expires_at=instant(b + 2 * MINUTE),
    )
    h["normal_answer"] = s.result(h["normal"], b + 1 * MINUTE + 412, payload=_patient())
    h["normal2"] = s.command("lakeside", "SearchPatients", search, b + 2 * MINUTE)
    h["normal2_answer"] = s.result(
        h["normal2"], b + 2 * MINUTE + 80, payload={"patients": [_patient()]}, pms="EAGLESOFT"
    )
    update = {"patient_id": "1234", "updates": {"preferred_name": PHI[4]}}
    h["retried"] = s.command("smile-nyc", "UpdatePatient", update, b + 3 * MINUTE)
    h["retried_answer"] = s.result(h["retried"], b + 3 * MINUTE + 15_000, payload=_patient(), attempts=2)
    h["error"] = s.command("smile-nyc", "CreateAppointment", booking, b + 4 * MINUTE)
    h["error_answer"] = s.error(
        h["error"], b + 4 * MINUTE + 120, code="CONFLICT", message=f"patient {PHI[0]} {PHI[1]} is booked"
    )
    h["dead"] = s.command("lakeside", "ListLocations", {}, b + 5 * MINUTE)
    h["missing"] = s.command("smile-nyc", "ListOperatories", {"location_id": "997"}, b + 6 * MINUTE)
    h["duplicate"] = s.command("lakeside", "SearchPatients", search, b + 8 * MINUTE)
    h["duplicate_first"] = s.result(
        h["duplicate"], b + 8 * MINUTE + 1000, payload={"patients": []}, pms="EAGLESOFT"
    )
    h["duplicate_second"] = s.error(
        h["duplicate"], b + 9 * MINUTE, code="TIMEOUT", attempts=3, ce_id=str(uuid.uuid4())
    )
    h["replayed"] = s.command("smile-nyc", "ListLocations", {}, b + 10 * MINUTE)
    h["replayed_answer"] = s.result(h["replayed"], b + 10 * MINUTE + 1000, payload=_LOCATIONS)
    h["replayed_again"] = s.again(h["replayed_answer"], b + 12 * MINUTE)
    h["dead_letter"] = s.dead_letter(h["dead"], b + 16 * MINUTE, code="UNAVAILABLE", attempts=4)
    h["dead_answer"] = s.error(
        h["dead"], b + 16 * MINUTE + 5, code="UNAVAILABLE", attempts=4, message="unavailable"
    )
    h["garbage"] = s.raw(s.topics.commands, b"\x00\x01 not avro at all", b + 20 * MINUTE, key=b"smile-nyc")
    h["garbage_answer"] = s.error(h["garbage"], b + 20 * MINUTE + 10, code="VALIDATION", attempts=0)
    h["garbage_dead_letter"] = s.dead_letter(
        h["garbage"], b + 20 * MINUTE + 10, code="VALIDATION", attempts=0
    )
    h["garbage_result"] = s.raw(s.topics.results, b"\xc3\x01" + b"\xff" * 8 + b"junk", b + 21 * MINUTE)
    h["ghost"] = s.unsent("smile-nyc", "ValidateConnection", {})  # never sent: only its answer is
    h["orphan"] = s.result(h["ghost"], b + 30 * MINUTE, payload=_CONNECTED)
    h["late"] = s.command("smile-nyc", "ListLocations", {}, b + 40 * MINUTE)
    h["horizon"] = s.command("lakeside", "ListOperatories", {}, b + 58 * MINUTE)
    h["pending"] = s.command("lakeside", "ValidateConnection", {}, end - 1 * MINUTE)
    h["last"] = s.command("smile-nyc", "ValidateConnection", {}, end - 1)
    h["after"] = s.command("smile-nyc", "ListLocations", {}, end)  # exactly the end: not in the range
    s.result(h["after"], end + 30_000, payload=_LOCATIONS)  # the next period's
    h["last_answer"] = s.result(h["last"], end + 1 * MINUTE, payload=_CONNECTED)
    h["horizon_answer"] = s.result(
        h["horizon"], end + 2 * MINUTE, payload={"operatories": []}, pms="EAGLESOFT"
    )
    s.result(h["late"], b + 65 * MINUTE, payload=_LOCATIONS)  # exactly at the reading end: not read
    return h


def _iso(ms: int | None) -> str:
    return "" if ms is None else f"{instant(ms):%Y-%m-%dT%H:%M:%S.%f}Z"


def _ms(value: Any) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def _row(
    h: dict[str, Any],
    name: str,
    outcome: str,
    answer: Produced | None = None,
    *,
    code: str = "",
    attempts: int | None = None,
    pms: str = "",
    messages: int = 0,
    distinct: int = 0,
    dead_letter: Produced | None = None,
    duplicate: bool = False,
) -> dict[str, str]:
    c: Produced = h[name]
    assert c.command is not None
    return {
        "command_id": str(c.command.command_id),
        "command_type": c.command.command_type.value,
        "practice_id": c.command.practice_id,
        "requested_by": c.command.requested_by or "",
        "issued_at": _iso(c.timestamp_ms),
        "expires_at": _iso(_ms(c.command.expires_at)),
        "source_topic": c.topic,
        "source_partition": str(c.partition),
        "source_offset": str(c.offset),
        "outcome": outcome,
        "error_code": code,
        "attempts": "" if attempts is None else str(attempts),
        "pms": pms,
        "answered_at": _iso(answer.timestamp_ms) if answer else "",
        "duration_ms": str(answer.timestamp_ms - c.timestamp_ms) if answer else "",
        "answer_ce_id": answer.ce_id or "" if answer else "",
        "answer_topic": answer.topic if answer else "",
        "answer_partition": str(answer.partition) if answer else "",
        "answer_offset": str(answer.offset) if answer else "",
        "distinct_answers": str(distinct if answer is None else max(distinct, 1)),
        "answer_messages": str(messages if answer is None else max(messages, 1)),
        "dead_letter_partition": str(dead_letter.partition) if dead_letter else "",
        "dead_letter_offset": str(dead_letter.offset) if dead_letter else "",
        "redrives": "0",
        "duplicate": "true" if duplicate else "false",
    }


def _expected_commands(h: dict[str, Any]) -> list[dict[str, str]]:
    return [
        _row(h, "normal", "RESULT", h["normal_answer"], attempts=1, pms="DENTRIX"),
        _row(h, "normal2", "RESULT", h["normal2_answer"], attempts=1, pms="EAGLESOFT"),
        _row(h, "retried", "RESULT", h["retried_answer"], attempts=2, pms="DENTRIX"),
        _row(h, "error", "ERROR", h["error_answer"], code="CONFLICT", attempts=1, pms="DENTRIX"),
        _row(
            h,
            "dead",
            "DEAD_LETTER",
            h["dead_answer"],
            code="UNAVAILABLE",
            attempts=4,
            pms="DENTRIX",
            dead_letter=h["dead_letter"],
        ),
        _row(h, "missing", "MISSING"),
        _row(
            h,
            "duplicate",
            "ERROR",
            h["duplicate_second"],
            code="TIMEOUT",
            attempts=3,
            pms="DENTRIX",
            distinct=2,
            messages=2,
            duplicate=True,
        ),
        _row(h, "replayed", "RESULT", h["replayed_answer"], attempts=1, pms="DENTRIX", messages=2),
        _row(h, "late", "MISSING"),
        _row(h, "horizon", "RESULT", h["horizon_answer"], attempts=1, pms="EAGLESOFT"),
        _row(h, "pending", "PENDING"),
        _row(h, "last", "RESULT", h["last_answer"], attempts=1, pms="DENTRIX"),
    ]


_LISTED = ("command_id", "command_type", "practice_id", "issued_at", "source_topic", "source_partition")
_LISTED += ("source_offset",)


def _listed(rows: list[dict[str, str]], outcome: str) -> list[dict[str, str]]:
    return [{k: row[k] for k in _LISTED} for row in rows if row["outcome"] == outcome]


def _answer_row(command: Produced | None, answer: Produced, kind: str, code: str = "") -> dict[str, str]:
    envelope = command.command if command is not None else None
    return {
        "command_id": str(envelope.command_id) if envelope else "",
        "command_type": envelope.command_type.value if envelope else "",
        "practice_id": envelope.practice_id if envelope else "",
        "kind": kind,
        "error_code": code,
        "answered_at": _iso(answer.timestamp_ms),
        "ce_id": answer.ce_id or "",
        "topic": answer.topic,
        "partition": str(answer.partition),
        "offset": str(answer.offset),
    }


def _audit(h: dict[str, Any], bootstrap: str, out: Path, fmt: Format) -> int:
    b = h["base"]
    return run_audit(
        start=instant(b),
        end=instant(h["end"]),
        horizon=timedelta(milliseconds=HORIZON),
        out=out,
        fmt=fmt,
        practice=None,
        bootstrap_servers=bootstrap,
        prefix=h["topics"].prefix,
        now=instant(b + 65 * MINUTE),
    )


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as source:
        return list(csv.DictReader(source))


def test_the_report_accounts_for_every_command_exactly(
    history: dict[str, Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    h, out = history, tmp_path / "report"
    assert _audit(h, kafka_bootstrap, out, Format.CSV) == 0

    commands = _expected_commands(h)
    assert _csv(out / "commands.csv") == commands
    assert _csv(out / "missing.csv") == _listed(commands, "MISSING")
    assert _csv(out / "pending.csv") == _listed(commands, "PENDING")
    assert _csv(out / "orphans.csv") == [_answer_row(h["ghost"], h["orphan"], "RESULT")]
    assert _csv(out / "duplicates.csv") == [
        _answer_row(h["duplicate"], h["duplicate_first"], "RESULT"),
        _answer_row(h["duplicate"], h["duplicate_second"], "ERROR", "TIMEOUT"),
    ]
    garbage, topics = h["garbage"], h["topics"]
    assert _csv(out / "undecodable.csv") == [
        {
            "topic": topics.commands,
            "partition": str(garbage.partition),
            "offset": str(garbage.offset),
            "timestamp": _iso(garbage.timestamp_ms),
            "reason": "not Avro single-object encoding (magic 0001, expected c301)",
            "command_id": "",
            "answer_ce_id": h["garbage_answer"].ce_id,
            "dead_lettered": "true",
        },
        {
            "topic": topics.results,
            "partition": str(h["garbage_result"].partition),
            "offset": str(h["garbage_result"].offset),
            "timestamp": _iso(h["garbage_result"].timestamp_ms),
            "reason": "unknown writer schema fingerprint ffffffffffffffff",
            "command_id": "",
            "answer_ce_id": "",
            "dead_lettered": "false",
        },
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["commands"] == 12
    assert summary["completeness"] == {"answered": 9, "of": 12, "ratio": 0.75}
    assert summary["by_outcome"] == {"RESULT": 6, "ERROR": 2, "DEAD_LETTER": 1, "PENDING": 1, "MISSING": 2}
    assert summary["by_code"] == {"CONFLICT": 1, "TIMEOUT": 1, "UNAVAILABLE": 1}
    assert summary["by_practice"] == {
        "lakeside": {"DEAD_LETTER": 1, "ERROR": 1, "PENDING": 1, "RESULT": 2},
        "smile-nyc": {"ERROR": 1, "MISSING": 2, "RESULT": 4},
    }
    assert summary["by_type"]["ValidateConnection"] == {"PENDING": 1, "RESULT": 1}
    assert summary["exceptions"] == {
        "missing": 2,
        "pending": 1,
        "orphans": 1,
        "duplicates": 2,
        "undecodable": 2,
    }
    assert summary["notes"] == {
        "answers:EARLIER": 1,
        "answers:LATER": 1,
        "answers:ORPHAN": 1,
        f"read:{topics.commands}": 14,
        f"read:{topics.dead_letters}": 2,
        f"read:{topics.errors}": 4,
        f"read:{topics.results}": 12,
    }
    assert summary["data_gone"] == []
    assert verify(out) == []


def _values(path: Path) -> list[dict[str, str]]:
    """The rows of a report file in any format, every value as CSV would write it."""
    if path.suffix == ".csv":
        return _csv(path)
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    else:
        table = pq.read_table(path)
        rows = [
            {k: (f"{v:%Y-%m-%dT%H:%M:%S.%f}Z" if hasattr(v, "tzinfo") else v) for k, v in row.items()}
            for row in table.to_pylist()
        ]
    return [{k: _as_csv(v) for k, v in row.items()} for row in rows]


def _as_csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize("fmt", [Format.PARQUET, Format.JSONL])
def test_every_format_carries_the_same_report(
    history: dict[str, Any], kafka_bootstrap: str, tmp_path: Path, fmt: Format
) -> None:
    out = tmp_path / fmt.value
    assert _audit(history, kafka_bootstrap, out, fmt) == 0
    assert _values(out / f"commands.{fmt.value}") == _expected_commands(history)
    assert len(_values(out / f"duplicates.{fmt.value}")) == 2
    assert verify(out) == []


def test_no_patient_data_in_any_file_of_any_format(
    history: dict[str, Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    for fmt in Format:
        out = tmp_path / fmt.value
        assert _audit(history, kafka_bootstrap, out, fmt) == 0
        for path in out.iterdir():
            text = path.read_bytes().decode("utf-8", "replace")
            if path.suffix == ".parquet":  # compressed: look at its values too
                text += json.dumps(pq.read_table(path).to_pylist(), default=str)
            leaked = [seeded for seeded in PHI if seeded in text]
            assert leaked == [], f"{path.name} carries {leaked}"


def test_verify_finds_a_changed_a_missing_and_an_added_file(
    history: dict[str, Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    assert _audit(history, kafka_bootstrap, out, Format.CSV) == 0
    runner = CliRunner()
    assert runner.invoke(app, ["audit", "verify", str(out)]).exit_code == 0
    with (out / "commands.csv").open("a", encoding="utf-8") as tampered:
        tampered.write("x\r\n")
    (out / "pending.csv").unlink()
    (out / "extra.txt").write_text("?")
    result = runner.invoke(app, ["audit", "verify", str(out)])
    assert result.exit_code == 1
    assert verify(out) == [
        "commands.csv: " + verify(out)[0].split(": ", 1)[1],
        "pending.csv: missing",
        "extra.txt: not in the manifest",
    ]
    assert "bytes, the manifest says" in verify(out)[0]
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["range"]["from"] == _iso(history["base"])[:-4] + "Z"
    assert {s["name"] for s in manifest["schemas"]} >= {"pms.relay.Command", "pms.relay.Result"}


def test_the_audit_joins_no_group_and_commits_nothing(
    history: dict[str, Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    assert _audit(history, kafka_bootstrap, tmp_path / "report", Format.CSV) == 0
    groups = admin.list_consumer_groups(request_timeout=15).result(15)
    assert [g.group_id for g in groups.valid if g.group_id.startswith("pms-relay-audit")] == []


def test_a_range_before_the_earliest_retained_offset_says_data_is_gone(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    topics = TopicNames(prefix=f"gone{uuid.uuid4().hex[:8]}.")
    names = _create(admin, topics, partitions=1)
    try:
        script = Script(Producer({"bootstrap.servers": kafka_bootstrap}), topics)
        base = (int(time.time() * 1000) - 3600_000) // MINUTE * MINUTE
        sent = [script.command("smile-nyc", "ListLocations", {}, base + i * MINUTE) for i in range(4)]
        for command in sent:
            script.result(command, command.timestamp_ms + 100, payload=_LOCATIONS)
        deleted = TopicPartition(topics.commands, 0, 2)  # the first two commands are gone
        admin.delete_records([deleted], operation_timeout=30)[deleted].result(30)
        out = tmp_path / "report"
        result = CliRunner().invoke(
            app,
            [
                "audit", "--from", _iso(base - MINUTE), "--to", _iso(base + 10 * MINUTE), "--out", str(out),
                "--horizon", "5m", "--bootstrap-servers", kafka_bootstrap, "--prefix", topics.prefix,
            ],
        )  # fmt: skip
        assert result.exit_code == DATA_GONE_EXIT, result.output
        assert "DATA GONE" in result.output
        summary = json.loads((out / "summary.json").read_text())
        assert summary["data_gone"] == [{"topic": topics.commands, "partition": 0, "earliest_retained": 2}]
        assert summary["commands"] == 2
        assert summary["exceptions"]["orphans"] == 2  # answers whose commands were deleted
        assert verify(out) == []
    finally:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            future.result(30)


def test_one_practice_is_its_commands_and_answers_only(
    history: dict[str, Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    h, out = history, tmp_path / "lakeside"
    code = run_audit(
        start=instant(h["base"]),
        end=instant(h["end"]),
        horizon=timedelta(milliseconds=HORIZON),
        out=out,
        fmt=Format.CSV,
        practice="lakeside",
        bootstrap_servers=kafka_bootstrap,
        prefix=h["topics"].prefix,
        now=instant(h["base"] + 65 * MINUTE),
    )
    assert code == 0
    lakeside = [row for row in _expected_commands(h) if row["practice_id"] == "lakeside"]
    assert [row["outcome"] for row in lakeside] == ["RESULT", "DEAD_LETTER", "ERROR", "RESULT", "PENDING"]
    assert _csv(out / "commands.csv") == lakeside
    # smile-nyc's orphan and undecodable input (keyed smile-nyc, or unkeyed) belong to no practice of it
    assert [_csv(out / f"{name}.csv") for name in ("orphans", "undecodable", "missing")] == [[], [], []]
    assert len(_csv(out / "duplicates.csv")) == 2
