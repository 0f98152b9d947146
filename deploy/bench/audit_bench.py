"""Benchmark ``pms-relay audit``: a month of traffic (1,000,000 commands and their answers), read back.

Produces to a broker of its own (or ``--bootstrap``): commands spread evenly over 30 days, each answered
half a second later (94 % results, 5 % errors, 1 % dead-lettered with their error, 0.1 % never answered).
Producing is cheap: one envelope per command type is encoded once by the project's codec, and each message
is that template with its command id and instant spliced in (:class:`Template`). Then runs the real CLI,
``pms-relay audit --format parquet``, as a child process, and prints its reading rate (events/s, from the
report's manifest), its run time and its peak RSS (``wait4``'s rusage of that child alone).

    python -m deploy.bench.audit_bench                       # 1,000,000 commands, parquet
    python -m deploy.bench.audit_bench --commands 200000 --format csv
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from rich.console import Console
from rich.table import Table

from deploy.bench.relay_bench import _broker
from schemas.codec import Codec, EncodedMessage
from schemas.envelopes import CommandEnvelope, ErrorEnvelope, ResultEnvelope
from streams.hops import Hop, Origin, write_hop
from streams.topics import TopicNames

__all__ = ["Template", "app", "command_id", "varint"]

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])

_PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000"
_PLACEHOLDER_US = 1_790_000_000_123_457  # 2026-09; its zigzag varint is 8 bytes, like every instant near it
DAY_MS = 24 * 3600 * 1000


def varint(value: int) -> bytes:
    """Avro's zigzag varint of a long."""
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def command_id(i: int) -> str:
    """A UUID-shaped id per number, without the cost of uuid4."""
    return f"00000000-0000-4000-8000-{i:012x}"


@dataclass(frozen=True)
class Template:
    """One encoded message with its command id and one instant as holes: ``fill`` splices them in."""

    message: EncodedMessage
    id_at: int
    time_at: int
    id_header: int | None  # index of the header carrying the id (ce_id or ce_correlationid)

    @classmethod
    def of(cls, message: EncodedMessage, id_header: str | None) -> Template:
        value = message.value
        id_at = value.index(_PLACEHOLDER_ID.encode())
        stamp = varint(_PLACEHOLDER_US)
        if value.count(stamp) != 1 or len(stamp) != 8:
            raise ValueError("the placeholder instant is not unique in the template")
        index = next((i for i, (k, _v) in enumerate(message.headers) if k == id_header), None)
        return cls(message, id_at, value.index(stamp), index)

    def fill(
        self, command: str, micros: int, ce_id: str | None = None
    ) -> tuple[bytes, list[tuple[str, bytes]]]:
        v, i, t = self.message.value, self.id_at, self.time_at
        stamp = varint(micros)
        assert len(stamp) == 8
        value = b"".join((v[:i], command.encode(), v[i + 36 : t], stamp, v[t + 8 :]))
        headers = list(self.message.headers)
        if self.id_header is not None:
            headers[self.id_header] = (headers[self.id_header][0], command.encode())
        if ce_id is not None:
            headers = [(k, ce_id.encode() if k == "ce_id" else h) for k, h in headers]
        return value, headers


def templates(codec: Codec) -> dict[str, Template]:
    at = datetime.fromtimestamp(_PLACEHOLDER_US / 1e6, UTC)
    ids = {"command_id": _PLACEHOLDER_ID, "command_type": "SearchPatients", "practice_id": "smile-nyc"}
    command = CommandEnvelope.model_validate(
        {**ids, "issued_at": at, "requested_by": "agent-7", "payload": {"query": {"last_name": "Quill"}}}
    )
    patient = {"id": "8812", "first_name": "Avery", "last_name": "Quill", "date_of_birth": "1988-04-12"}
    result = ResultEnvelope.model_validate(
        {
            **ids,
            "pms": "DENTRIX",
            "completed_at": at,
            "attempts": 1,
            "duration_ms": 412,
            "payload": {"patients": [patient]},
        }
    )
    error = ErrorEnvelope.model_validate(
        {
            **ids,
            "code": "UNAVAILABLE",
            "retryable": True,
            "message": "unavailable",
            "pms": "DENTRIX",
            "attempts": 4,
            "failed_at": at,
        }
    )
    return {
        "command": Template.of(codec.encode_command(command), "ce_id"),
        "result": Template.of(codec.encode_result(result, event_id=_PLACEHOLDER_ID), "ce_correlationid"),
        "error": Template.of(codec.encode_error(error, event_id=_PLACEHOLDER_ID), "ce_correlationid"),
    }


@dataclass(frozen=True)
class Produced:
    commands: int
    events: int
    seconds: float
    start: datetime
    end: datetime


def produce(bootstrap: str, topics: TopicNames, commands: int, start_ms: int, span_ms: int) -> Produced:
    codec = Codec()
    t = templates(codec)
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "partitioner": "murmur2_random",
            "linger.ms": 50,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 1_000_000,
            "acks": 1,
        }
    )
    step = span_ms / commands
    started, events = time.monotonic(), 0
    for i in range(commands):
        ms = start_ms + int(i * step)
        cid = command_id(i)
        value, headers = t["command"].fill(cid, ms * 1000)
        events += _send(producer, topics.commands, value, headers, ms)
        answer_ms = ms + 500
        bucket = i % 1000
        if bucket == 999:  # 0.1 %: never answered
            continue
        answer_id = str(uuid.UUID(int=i | (1 << 76)))
        if bucket < 940:
            value, headers = t["result"].fill(cid, answer_ms * 1000, answer_id)
            events += _send(producer, topics.results, value, headers, answer_ms)
            continue
        if bucket >= 990:  # 1 %: dead-lettered, then its error
            hop = Hop(
                4,
                4,
                datetime.fromtimestamp(ms / 1000, UTC),
                Origin(topics.commands, 0, i),
                error_code="UNAVAILABLE",
            )
            command_value, command_headers = t["command"].fill(cid, ms * 1000)
            events += _send(
                producer, topics.dead_letters, command_value, write_hop(command_headers, hop), answer_ms
            )
        value, headers = t["error"].fill(cid, answer_ms * 1000, answer_id)
        events += _send(producer, topics.errors, value, headers, answer_ms)
    producer.flush(120)
    end_ms = start_ms + span_ms
    return Produced(commands, events, time.monotonic() - started, _dt(start_ms), _dt(end_ms))


def _send(producer: Producer, topic: str, value: bytes, headers: list[tuple[str, bytes]], ms: int) -> int:
    while True:
        try:
            producer.produce(topic, value=value, key=b"smile-nyc", headers=headers, timestamp=ms)
            return 1
        except BufferError:
            producer.poll(0.05)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _create(bootstrap: str, topics: TopicNames, partitions: int) -> list[str]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [topics.commands, topics.results, topics.errors, topics.dead_letters]
    new = [NewTopic(n, partitions, -1, config={"retention.ms": "-1"}) for n in names]
    for future in admin.create_topics(new, operation_timeout=30).values():
        future.result(30)
    return names


def _delete(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.delete_topics(names, operation_timeout=30).values():
        future.result(30)


@dataclass(frozen=True)
class AuditRun:
    exit_code: int
    seconds: float
    peak_rss_mb: float
    manifest: dict[str, Any]


def run_audit(bootstrap: str, topics: TopicNames, produced: Produced, out: Path, fmt: str) -> AuditRun:
    """The real CLI as a child process, its peak RSS read from its own ``VmHWM`` while it runs.

    Not ``wait4``'s ``ru_maxrss``: Linux carries the parent's high-water mark into a forked child across
    ``exec``, so it reports this benchmark's own RSS after producing (1.1 GB) for any child at all (a
    ``python -c pass`` child "peaked" at 610 MB under a 600 MB parent)."""
    command = [
        sys.executable, "-m", "cli", "audit",
        "--from", produced.start.isoformat(), "--to", produced.end.isoformat(),
        "--out", str(out), "--format", fmt, "--horizon", "1h",
        "--bootstrap-servers", bootstrap, "--prefix", topics.prefix,
    ]  # fmt: skip
    started = time.monotonic()
    child = subprocess.Popen(command)
    peak_kb = 0
    while child.poll() is None:
        peak_kb = max(peak_kb, _high_water_kb(child.pid))
        time.sleep(0.05)
    seconds = time.monotonic() - started
    manifest = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").exists() else {}
    return AuditRun(child.returncode, seconds, peak_kb / 1024, manifest)


def _high_water_kb(pid: int) -> int:
    """The process's peak resident set so far (its own memory map's, since exec), 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


@app.command()
def main(
    commands: Annotated[int, typer.Option(help="Commands to produce (each with its answer).")] = 1_000_000,
    partitions: Annotated[int, typer.Option(help="Partitions per topic.")] = 6,
    fmt: Annotated[str, typer.Option("--format", help="The report's format.")] = "parquet",
    bootstrap: Annotated[str | None, typer.Option(help="Use this broker instead of starting one.")] = None,
) -> None:
    console = Console()
    with _broker(bootstrap) as (servers, _pid), tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
        topics = TopicNames(prefix=f"bench{uuid.uuid4().hex[:8]}.")
        names = _create(servers, topics, partitions)
        try:
            now_ms = int(time.time() * 1000)
            span = 30 * DAY_MS
            produced = produce(servers, topics, commands, now_ms - span - 2 * 3600 * 1000, span)
            console.print(
                f"produced {produced.events:,} events in {produced.seconds:.1f} s "
                f"({produced.events / produced.seconds:,.0f}/s)"
            )
            run = run_audit(servers, topics, produced, Path(tmp) / "report", fmt)
        finally:
            _delete(servers, names)
    reading = run.manifest.get("reading", {})
    table = Table(title=f"pms-relay audit, {commands:,} commands over 30 days ({fmt})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for figure, value in _figures(run, reading):
        table.add_row(figure, value)
    console.print(table)
    raise typer.Exit(run.exit_code)


def _figures(run: AuditRun, reading: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield "events read", f"{reading.get('events', 0):,}"
    yield "reading time", f"{reading.get('seconds', 0):.1f} s"
    yield "events/s (reading)", f"{reading.get('events_per_second') or 0:,}"
    cpu = reading.get("cpu_seconds") or 0
    yield "CPU time while reading (all threads)", f"{cpu:.1f} s"
    yield "events per CPU-second", f"{reading.get('events', 0) / cpu:,.0f}" if cpu else "-"
    yield "audit run time (whole process)", f"{run.seconds:.1f} s"
    yield "peak RSS of the audit", f"{run.peak_rss_mb:,.0f} MB"
    yield "exit code", str(run.exit_code)
    yield "load average after (1/5/15 min)", "/".join(f"{x:.1f}" for x in os.getloadavg())
    counts = run.manifest.get("counts", {})
    yield "outcomes", json.dumps(counts.get("by_outcome", {}))
    yield "exceptions", json.dumps(counts.get("exceptions", {}))


if __name__ == "__main__":
    app()
