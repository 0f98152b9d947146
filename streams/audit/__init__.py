"""``pms-relay audit``: every command of a time range accounted for, as a report an auditor can keep.

The flow, one module per step: :mod:`~streams.audit.window` (which commands, how long their answers may
take), :mod:`~streams.audit.reading` (offsets from timestamps; an assigned consumer that joins no group and
commits nothing), :mod:`~streams.audit.heads` (the ids and codes of an envelope, never its payload),
:mod:`~streams.audit.replay` into a :mod:`~streams.audit.ledger` (small state per command id),
:mod:`~streams.audit.classify` (MISSING, PENDING, ORPHAN, DUPLICATE), :mod:`~streams.audit.report` (tables and
summary), :mod:`~streams.audit.writers` (csv, parquet, jsonl), :mod:`~streams.audit.archive` and
:mod:`~streams.audit.manifest` (the directory, its fingerprints, :func:`verify`).
"""

from streams.audit.archive import Archive, write_archive
from streams.audit.classify import Outcome
from streams.audit.manifest import verify
from streams.audit.reading import RangeReader, consumer_config
from streams.audit.replay import Findings, Plan, Replay
from streams.audit.report import Report, build_report
from streams.audit.window import DEFAULT_HORIZON, AuditWindow
from streams.audit.writers import Format

__all__ = [
    "DEFAULT_HORIZON",
    "Archive",
    "AuditWindow",
    "Findings",
    "Format",
    "Outcome",
    "Plan",
    "RangeReader",
    "Replay",
    "Report",
    "build_report",
    "consumer_config",
    "verify",
    "write_archive",
]
