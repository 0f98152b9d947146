"""Evidence for the problems a verdict found, gathered after the run (best effort: never hides the verdict).

For each problem (the first 25): where the command was read from, a second, independent read of the answer
topics (a fresh consumer from the beginning, so a collector's miss cannot pass for a loss), the workers' log
lines that name the command or its partition and offset, and what the sandbox holds for a double write. Then
the workers' committed offsets against the end of every topic they read, and their notable log lines.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from tests.chaos.collector import byte_headers
from tests.chaos.offsets import group_offsets
from tests.chaos.verdict import DOUBLE_WRITE, Problem
from tests.contract.harness import AdminApi
from tests.relay_system import RelaySystem

__all__ = ["gather"]

_NOTABLE = re.compile(r"level=(WARNING|ERROR|CRITICAL)|Traceback")
_MAX_PROBLEMS = 25


def gather(
    system: RelaySystem,
    problems: Sequence[Problem],
    places: Mapping[str, tuple[int, int]],  # command id -> (partition, offset) in the commands topic
    logs: Sequence[str],
    sandboxes: Mapping[str, AdminApi],  # practice id -> its sandbox's admin API
) -> list[str]:
    shown = list(problems[:_MAX_PROBLEMS])
    reread = _reread(system, {p.subject for p in shown})
    lines: list[str] = []
    for problem in shown:
        place = places.get(problem.subject)
        where = f"partition {place[0]} offset {place[1]}" if place else "-"
        lines.append(f"{problem.kind}: {problem.subject} ({where}) {problem.detail}")
        lines.append(f"    answer topics read again from the start: {reread.get(problem.subject, [])}")
        witness = system.answers.get(problem.subject)
        lines.append(f"    RelaySystem's own collector: {len(witness) if witness else 0} answers")
        needles = [problem.subject]
        if place is not None:
            needles.append(f"topic={system.topics.commands} partition={place[0]} offset={place[1]} ")
        for number, log in enumerate(logs):
            mentions = [line for line in log.splitlines() if any(n in line + " " for n in needles)]
            lines.extend(f"    worker-{number}: {line}" for line in mentions[:12])
        if problem.kind == DOUBLE_WRITE:
            lines.extend(f"    {line}" for line in _stored(problem, sandboxes))
    lines.extend(_offsets(system))
    notable = [
        f"worker-{n}: {line}"
        for n, log in enumerate(logs)
        for line in log.splitlines()
        if _NOTABLE.search(line)
    ]
    lines.append(f"notable worker lines ({len(notable)}, last 40):")
    lines.extend(f"    {line}" for line in notable[-40:])
    return lines


def _reread(system: RelaySystem, ids: set[str]) -> dict[str, list[str]]:
    """Every answer naming one of ``ids`` (by ce_correlationid or ce_id), read again from the beginning."""
    found: dict[str, list[str]] = {}
    consumer = Consumer(
        {
            "bootstrap.servers": system.bootstrap,
            "group.id": f"chaos-reread-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    try:
        for topic in (system.topics.results, system.topics.errors):
            for partition in range(system.partitions):
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                if high <= low:
                    continue
                consumer.assign([TopicPartition(topic, partition, low)])
                offset = low
                while offset < high:
                    message = consumer.poll(5.0)
                    if message is None:
                        break
                    if message.error() is not None:
                        continue
                    offset = int(message.offset() or 0) + 1
                    headers = {k: v.decode() for k, v in byte_headers(message.headers()) if v is not None}
                    for key in (headers.get("ce_correlationid"), headers.get("ce_id")):
                        if key in ids:
                            found.setdefault(key, []).append(f"{topic}:{partition}@{message.offset()}")
    except Exception as exc:  # evidence only
        found["*"] = [f"re-read failed: {type(exc).__name__}: {exc}"]
    finally:
        consumer.close()
    return found


def _stored(problem: Problem, sandboxes: Mapping[str, AdminApi]) -> list[str]:
    """The sandbox's records (and, on Eaglesoft, its write log) behind a double write."""
    records = re.findall(r"(patients|appointments)/(\d+)", problem.detail)
    lines = []
    for sandbox in {id(s): s for s in sandboxes.values()}.values():
        for resource, record_id in records:
            try:
                record: Any = sandbox._admin_json("GET", f"/_admin/records/{resource}/{record_id}")
            except Exception:  # not this sandbox's record
                continue
            body = record.get("record") or record.get("data") or {}
            stamps = {k: body.get(k) for k in ("DateAppointed", "DateModified", "lastModified") if k in body}
            lines.append(f"{resource}/{record_id}: {stamps}")
            lines.extend(_requests(sandbox, resource, record_id))
        try:
            writes = sandbox._admin_json("GET", "/_admin/writes")["writes"]
        except Exception:  # Dentrix has no write log
            continue
        ids = {int(r) for _, r in records}
        lines.extend(
            f"write {w['WriteId']} {w['Operation']} {w['Status']} entity={w['EntityId']}"
            for w in writes
            if w.get("EntityId") in ids
        )
    return lines


def _requests(sandbox: AdminApi, resource: str, record_id: str) -> list[str]:
    """The sandbox's request-log lines for one record (time, method, status, faults fired)."""
    try:
        logged = sandbox._request_lines(0.0)
    except Exception:  # evidence only
        return []
    suffix = f"/{resource}/{record_id}"
    return [
        f"  request {line['time']:.3f} {line['method']} {line['path']} status={line['status']} faults={line['faults']}"
        for line in logged
        if line["path"].endswith(suffix)
    ]


def _offsets(system: RelaySystem) -> list[str]:
    topics = [system.topics.commands, *system.topics.retries]
    try:
        offsets = group_offsets(system.bootstrap, system.app_id, topics, system.partitions)
    except Exception as exc:  # evidence only
        return [f"committed offsets unavailable: {type(exc).__name__}: {exc}"]
    lines = ["committed/end offsets of the workers' group (AdminClient.list_consumer_group_offsets):"]
    lines.extend(
        f"    {o.topic}[{o.partition}] committed={o.committed} end={o.end}" for o in offsets if o.end
    )
    return lines
