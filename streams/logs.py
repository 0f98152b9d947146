"""Logging for the worker: one ``key=value`` line per record, ids from the log context, no patient data.

Every line, ours and the libraries' (Faust, mode, aiokafka, librdkafka), goes through :class:`KeyValueFormatter`::

    ts=2026-12-02T04:15:28.319Z level=INFO logger=streams.pipeline msg="retry scheduled" command_id=7f3c tier=1 topic=pms.commands partition=2 offset=41 practice_id=smile-nyc

- Our own messages are already ``words key=value ...``: the words become ``msg``, the pairs stay pairs.
- Anything else (Faust's free text, its multi-line tables) becomes one quoted, escaped ``msg``: a line never breaks.
- :func:`log_context` adds the ids of the message being processed (asyncio tasks inherit them).
- An exception is its type, its cause's type and its frames (``file:line function``), never its text: the text
  may quote input (pydantic's does).
- A safety net: values of patient-data keys (``first_name=``, ``"phone": ``...) are written as ``***``. Our code
  never logs payloads; this catches a library that would.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType, TracebackType

__all__ = ["WORKER_READY", "KeyValueFormatter", "configure_logging", "log_context"]

# What a worker's log says once it consumes (Faust's "[^Worker]: Ready" through the formatter): tests, the
# demo and the benchmark wait for it.
WORKER_READY = 'msg="Ready" service=Worker'

# httpx logs every request's full URL at INFO, query string included, and a search query can carry a name.
_QUIET = ("httpx", "httpcore", "aiokafka", "faust.transport", "uvicorn.access")

_REDACTED = "***"
_PATIENT_KEYS = frozenset(
    {"name", "first_name", "last_name", "birth_date", "phone", "email", "address", "notes", "note"}
)
_KEYS = "|".join(sorted(_PATIENT_KEYS, key=len, reverse=True))
# key=value (a repr: first_name='Ann') or "key": value (JSON, a dict's repr), the value quoted or bare.
_PATIENT_VALUE = re.compile(
    rf"""(?P<key>(?<![\w.])(?:{_KEYS})=|(?P<q>["'])(?:{_KEYS})(?P=q)\s*:\s*)"""
    r"""(?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[\w.:+@-]+(?:\([^)]*\))?)"""
)
# The start of a pair: a key right after whitespace (or at the start), then "=".
_PAIR = re.compile(r"(?:^|(?<=\s))(?P<key>[A-Za-z_][\w.]*)=")
# The words before the pairs of our own messages ("retry scheduled", "token refresh ahead failed, keeping ...").
_WORDS = re.compile(r"[\w .,'-]*")
# mode's services prefix their lines with their place in the tree: "[^---Recovery]: Highwater ...".
_SERVICE = re.compile(r"^\[\^-*(?P<service>.+?)\]: ")
_BARE = re.compile(r"[^\s\"'=\\]+")
_LIBRARY_PATH = re.compile(r".*/(?:site-packages|lib/python3\.\d+)/(?P<path>.+)")
_PROJECT_ROOT = f"{Path(__file__).resolve().parents[1]}/"
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}

_context: ContextVar[Mapping[str, object]] = ContextVar("pms_relay_log_context", default=MappingProxyType({}))


@contextlib.contextmanager
def log_context(
    *,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    command_id: object = None,
    practice_id: str | None = None,
) -> Iterator[None]:
    """Add these ids to every line logged inside the block, by this task and the tasks it starts.

    Nested blocks add to (and override) the outer ids; the outer ids are back when the block ends.
    """
    given = {"topic": topic, "partition": partition, "offset": offset, "command_id": command_id,
             "practice_id": practice_id}  # fmt: skip
    ids = {key: value for key, value in given.items() if value is not None}
    token = _context.set(MappingProxyType({**_context.get(), **ids}))
    try:
        yield
    finally:
        _context.reset(token)


class KeyValueFormatter(logging.Formatter):
    """``ts=… level=… logger=… msg="…" key=value …`` on one line; see the module docstring."""

    def format(self, record: logging.LogRecord) -> str:
        exc = record.exc_info[1] if record.exc_info else None
        message, pairs = _split(_redact(record.getMessage()))
        if exc is not None:
            message, pairs = _withhold(exc, message, pairs)
        given = {key for key, _ in pairs}
        pairs += [(key, value) for key, value in _context.get().items() if key not in given]
        if exc is not None:
            pairs += _exception_fields(exc)
        if record.stack_info:
            pairs.append(("stack", record.stack_info))
        return _line(record, message, pairs)


def configure_logging(level: str = "info") -> None:
    """Every record of the process to stderr through :class:`KeyValueFormatter`, at ``level`` and above.

    Replaces the root logger's handlers: run it once at start, before anything else logs.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Python's warnings print several free-text lines to stderr; as records they are one line each.
    logging.captureWarnings(True)


def _split(message: str) -> tuple[str, list[tuple[str, object]]]:
    """``"retry scheduled command_id=7 tier=1"`` → ``("retry scheduled", [("command_id", "7"), ...])``.

    A message that is not words followed by pairs stays whole (with mode's service prefix as a pair).
    """
    service = _SERVICE.match(message)
    prefix: list[tuple[str, object]] = []
    if service:
        prefix, message = [("service", service["service"])], message[service.end() :]
    starts = list(_PAIR.finditer(message))
    words = message[: starts[0].start()].rstrip() if starts else message
    if not starts or "\n" in message or not _WORDS.fullmatch(words):
        return message, prefix
    ends = [match.start() for match in starts[1:]] + [len(message)]
    for start, end in zip(starts, ends, strict=True):
        key, value = start["key"], message[start.end() : end].rstrip()
        prefix.append((key, _REDACTED if key.lower() in _PATIENT_KEYS else value))
    return words, prefix


def _redact(text: str) -> str:
    return _PATIENT_VALUE.sub(lambda match: match["key"] + _REDACTED, text)


def _withhold(
    exc: BaseException, message: str, pairs: list[tuple[str, object]]
) -> tuple[str, list[tuple[str, object]]]:
    """Take the exceptions' text out of the message too: ``log.exception("Error: %r", exc)`` is common."""
    for error in _chain(exc):
        for text in filter(None, (repr(error), str(error))):
            # Whole words only: KeyError("o") must not eat the o of "processing".
            pattern, placeholder = re.compile(rf"(?<!\w){re.escape(text)}(?!\w)"), f"<{type(error).__name__}>"
            message = pattern.sub(placeholder, message)
            pairs = [(key, pattern.sub(placeholder, str(value))) for key, value in pairs]
    return message, pairs


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and the ones it was raised from or during, as Python prints them (bounded: cycles)."""
    current: BaseException | None = exc
    for _ in range(8):
        if current is None:
            return
        yield current
        current = _cause(current)


def _cause(exc: BaseException) -> BaseException | None:
    return exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


def _exception_fields(exc: BaseException) -> list[tuple[str, object]]:
    fields: list[tuple[str, object]] = [("exc_type", _type_name(exc))]
    cause = _cause(exc)
    if cause is not None:
        fields.append(("exc_cause", _type_name(cause)))
    fields.append(("exc_frames", _frames(exc.__traceback__)))
    return fields


def _type_name(exc: BaseException) -> str:
    kind = type(exc)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _frames(tb: TracebackType | None) -> str:
    """``streams/pipeline.py:160 handle > adapters/http/client.py:88 send``: outermost first, as Python prints."""
    return " > ".join(f"{_short_path(f.filename)}:{f.lineno} {f.name}" for f in traceback.extract_tb(tb))


def _short_path(path: str) -> str:
    """A library's path from its package (``faust/app/base.py``), ours from the project root."""
    library = _LIBRARY_PATH.match(path)
    if library:
        return library["path"]
    return path.removeprefix(_PROJECT_ROOT)


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{int(record.msecs):03d}Z"


def _line(record: logging.LogRecord, message: str, fields: list[tuple[str, object]]) -> str:
    head = [("ts", _timestamp(record)), ("level", record.levelname), ("logger", record.name)]
    return " ".join(
        [*(f"{key}={_value(value)}" for key, value in head), f"msg={_quote(message)}"]
        + [f"{key}={_value(value)}" for key, value in fields]
    )


def _value(value: object) -> str:
    text = str(value)
    return text if _BARE.fullmatch(text) and text.isprintable() else _quote(text)


def _quote(text: str) -> str:
    return '"' + "".join(_escape(char) for char in text) + '"'


def _escape(char: str) -> str:
    """Nothing a line splitter could break on stays: control characters, NEL, U+2028 and the like."""
    if char in _ESCAPES:
        return _ESCAPES[char]
    if char.isprintable():
        return char
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
