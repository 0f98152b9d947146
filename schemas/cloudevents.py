"""CloudEvents 1.0 in Kafka *binary* mode: the event's attributes travel as ``ce_*`` headers, the Avro body
is the event data. Pure functions; header values are UTF-8 bytes.

Our own attributes are always set fresh by the encoder. Every other header handed in (W3C ``traceparent`` /
``tracestate``, baggage) passes through untouched, so a trace spans the command and its answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_SOURCE",
    "ERROR_TYPE",
    "Headers",
    "build_headers",
    "command_event_type",
    "command_type_of",
    "header",
    "result_event_type",
    "rfc3339",
    "trace_headers",
]

Headers = Sequence[tuple[str, bytes | None]]

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/avro"
DEFAULT_SOURCE = "/pms-relay"
CONTRACT_MAJOR = "v1"
ERROR_TYPE = f"pms.error.{CONTRACT_MAJOR}"
_TRACE = frozenset({"traceparent", "tracestate"})


def command_event_type(command_type: str) -> str:
    return f"pms.command.{command_type}.{CONTRACT_MAJOR}"


def result_event_type(command_type: str) -> str:
    return f"pms.result.{command_type}.{CONTRACT_MAJOR}"


def command_type_of(event_type: str | None) -> str | None:
    """The command type named by a command or result ``ce_type``, or None."""
    parts = (event_type or "").split(".")
    if len(parts) == 4 and parts[0] == "pms" and parts[1] in ("command", "result"):
        return parts[2]
    return None


def rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _own(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("ce_") or lowered == "content-type"


def build_headers(
    *,
    event_id: str,
    source: str,
    event_type: str,
    time: datetime,
    correlation_id: str | None = None,
    passthrough: Iterable[tuple[str, bytes | None]] = (),
) -> list[tuple[str, bytes]]:
    """The binary-mode headers of one event, then every passthrough header that is not one of ours."""
    attributes = [
        ("ce_specversion", SPEC_VERSION),
        ("ce_id", event_id),
        ("ce_source", source),
        ("ce_type", event_type),
        ("ce_time", rfc3339(time)),
        ("content-type", CONTENT_TYPE),
    ]
    if correlation_id is not None:
        attributes += [("ce_correlationid", correlation_id), ("ce_causationid", correlation_id)]
    headers = [(name, value.encode()) for name, value in attributes]
    headers += [(name, value) for name, value in passthrough if value is not None and not _own(name)]
    return headers


def header(headers: Headers | None, name: str) -> str | None:
    """The first value of header ``name`` as text, or None if absent or not UTF-8."""
    for key, value in headers or ():
        if key == name and value is not None:
            try:
                return value.decode()
            except UnicodeDecodeError:
                return None
    return None


def trace_headers(headers: Headers | None) -> list[tuple[str, bytes]]:
    """The W3C trace context of an incoming message, to pass on to its answer."""
    return [(key, value) for key, value in headers or () if key in _TRACE and value is not None]
