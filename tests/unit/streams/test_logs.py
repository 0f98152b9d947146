"""Log lines: one ``key=value`` line per record, ids from the log context, no patient data, no exception text."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import warnings
from collections.abc import Iterator
from datetime import date
from types import TracebackType
from typing import Any

import pydantic
import pytest

from streams import logs
from streams.logs import WORKER_READY, KeyValueFormatter, configure_logging, log_context

_VALUE = r'(?:"(?:[^"\\]|\\.)*"|[^\s"=\\]+)'
_LINE = re.compile(rf'ts=\S+ level=[A-Z]+ logger=\S+ msg="(?:[^"\\]|\\.)*"(?: [A-Za-z_][\w.]*={_VALUE})*')
_PATIENT_DATA = ("Zephyrine", "Quillfeather", "1961-07-04", "zq.marker@example.invalid", "5550142")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def record(
    msg: str, *args: object, name: str = "streams.pipeline", exc_info: ExcInfo | None = None
) -> logging.LogRecord:
    entry = logging.LogRecord(name, logging.INFO, "/x.py", 1, msg, args or None, exc_info)
    entry.created, entry.msecs = 1796184928.319, 319.0
    return entry


def formatted(msg: str, *args: object, **kwargs: Any) -> str:
    return KeyValueFormatter().format(record(msg, *args, **kwargs))


def tail(line: str) -> str:
    """The line after ``ts=… level=… logger=…``."""
    return line.split(" ", 3)[3]


def test_the_line_starts_with_utc_time_in_milliseconds_level_and_logger() -> None:
    assert formatted("worker starting practices=%s", 2) == (
        'ts=2026-12-02T04:15:28.319Z level=INFO logger=streams.pipeline msg="worker starting" practices=2'
    )


@pytest.mark.parametrize(
    ("msg", "args", "expected"),
    [
        ("retry scheduled command_id=%s tier=%s", ("c-1", 1), 'msg="retry scheduled" command_id=c-1 tier=1'),
        ("topic differs topic=%s differences=%s", ("pms.results", "partitions: want 3, have 2"),
         'msg="topic differs" topic=pms.results differences="partitions: want 3, have 2"'),
        ("token refresh ahead failed, keeping current token code=%s", ("AUTH",),
         'msg="token refresh ahead failed, keeping current token" code=AUTH'),
        ("answer ignored command_id=%s delivery=%s", ("", "late"), 'msg="answer ignored" command_id="" delivery=late'),
        ("command_id=%s", ("c-1",), 'msg="" command_id=c-1'),
        ("worker starting", (), 'msg="worker starting"'),
        ("hop=%s path=%s", (2, 'C:\\"x"'), 'msg="" hop=2 path="C:\\\\\\"x\\""'),
    ],
)  # fmt: skip
def test_our_key_value_messages_keep_their_pairs(msg: str, args: tuple[object, ...], expected: str) -> None:
    assert tail(formatted(msg, *args)) == expected


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        ("Executing _on_partitions_assigned", 'msg="Executing _on_partitions_assigned"'),
        # Pairs inside free text do not make it key=value: it stays one message.
        ("Fetch offset 2 is out of range for partition TopicPartition(topic='t', partition=0)",
         "msg=\"Fetch offset 2 is out of range for partition TopicPartition(topic='t', partition=0)\""),
        ('say "hi"\tand\\leave', 'msg="say \\"hi\\"\\tand\\\\leave"'),
        ("one\ntwo\r\nthree", 'msg="one\\ntwo\\r\\nthree"'),
        ("nel\x85 ls\u2028 nul\x00 esc\x1b", 'msg="nel\\x85 ls\\u2028 nul\\x00 esc\\x1b"'),
        ("box ┌─┐ and 〃 stay", 'msg="box ┌─┐ and 〃 stay"'),
        # mode's service prefix becomes a pair.
        ("[^Worker]: Ready", 'msg="Ready" service=Worker'),
        ("[^---Agent: topology.build[.]process_commands]: Starting...",
         'msg="Starting..." service="Agent: topology.build[.]process_commands"'),
        ("[^---Recovery]: Highwater for active changelog partitions:\n+Highwater-+\n| topic | 0 |\n+---+",
         'msg="Highwater for active changelog partitions:\\n+Highwater-+\\n| topic | 0 |\\n+---+" service=Recovery'),
    ],
)  # fmt: skip
def test_free_text_is_one_quoted_escaped_message(msg: str, expected: str) -> None:
    line = formatted(msg, name="faust.tables.recovery")
    assert tail(line) == expected
    assert _LINE.fullmatch(line)
    assert len(line.splitlines()) == 1


@pytest.mark.parametrize(
    ("msg", "args", "expected"),
    [
        ("patient found first_name=%s last_name=%s id=%s", ("Zephyrine Ann", "Quillfeather", 7),
         'msg="patient found" first_name=*** last_name=*** id=7'),
        ("x name=%s phone=%s email=%s", ("Z", "5550142", "zq.marker@example.invalid"),
         'msg="x" name=*** phone=*** email=***'),
        ("x birth_date=%s address=%s notes=%s note=%s", ("1961-07-04", "1 Main St", "n", "m"),
         'msg="x" birth_date=*** address=*** notes=*** note=***'),
        ("x First_Name=%s", ("Zephyrine",), 'msg="x" First_Name=***'),
        # Other keys that end in a patient key are left alone.
        ("x hostname=%s practice_name=%s topic=%s", ("db1", "Smile NYC", "t"),
         'msg="x" hostname=db1 practice_name="Smile NYC" topic=t'),
        # Free text: a repr, a dict, JSON.
        ("bad %r", (dict(first_name="Zephyrine", id=3),), "msg=\"bad {'first_name': ***, 'id': 3}\""),
        ("bad Patient(first_name='Zephyrine', birth_date=datetime.date(1961, 7, 4), id=3)", (),
         'msg="bad Patient(first_name=***, birth_date=***, id=3)"'),
        ('bad {"phone": "5550142", "email": "zq@example.invalid"}', (),
         'msg="bad {\\"phone\\": ***, \\"email\\": ***}"'),
        ("[^Agent]: bad input name=Zephyrine Quillfeather!", (), 'msg="bad input" service=Agent name=***'),
        ("[^Agent]: bad input (name=Zephyrine Quillfeather)", (), 'msg="bad input (name=*** Quillfeather)" service=Agent'),
    ],
)  # fmt: skip
def test_patient_data_keys_are_redacted(msg: str, args: tuple[object, ...], expected: str) -> None:
    assert tail(formatted(msg, *args)) == expected


def _raised(exc: BaseException, cause: BaseException | None = None) -> ExcInfo:
    try:
        raise exc from cause
    except BaseException as caught:
        return type(caught), caught, caught.__traceback__


class _Patient(pydantic.BaseModel):
    first_name: str
    birth_date: date


def _validation_error() -> pydantic.ValidationError:
    try:
        _Patient.model_validate({"first_name": 5550142, "birth_date": "Quillfeather"})
    except pydantic.ValidationError as exc:
        return exc
    raise AssertionError("no validation error")


def test_an_exception_is_its_type_cause_and_frames_on_one_line() -> None:
    info = _raised(KeyError("k"), OSError("o"))
    assert info[2] is not None
    line = formatted("processing failed command_id=%s", "c-1", exc_info=info)
    assert _LINE.fullmatch(line)
    assert tail(line) == (
        'msg="processing failed" command_id=c-1 exc_type=KeyError exc_cause=OSError '
        f'exc_frames="tests/unit/streams/test_logs.py:{info[2].tb_lineno} _raised"'
    )


def test_frames_run_from_the_outermost_call_to_where_it_raised() -> None:
    def inner() -> None:
        raise ValueError("Zephyrine")

    try:
        inner()
    except ValueError:
        line = KeyValueFormatter().format(record("x", exc_info=sys.exc_info()))  # type: ignore[arg-type]
    frames = re.search(r'exc_frames="([^"]*)"', line)
    assert frames is not None
    assert [frame.split()[1] for frame in frames[1].split(" > ")] == [
        "test_frames_run_from_the_outermost_call_to_where_it_raised",
        "inner",
    ]
    assert "Zephyrine" not in line


def test_an_exception_s_text_is_never_written_even_when_the_message_quotes_it() -> None:
    error = _validation_error()
    assert "Quillfeather" in str(error)  # pydantic quotes input values: the reason for the rule
    line = formatted("Error: %r (%s)", error, error, name="faust.worker", exc_info=_raised(error))
    assert not any(marker in line for marker in _PATIENT_DATA), line
    assert 'msg="Error: <ValidationError> (<ValidationError>)"' in line
    assert "exc_type=pydantic_core._pydantic_core.ValidationError" in line


def test_only_whole_words_of_an_exception_s_text_are_withheld() -> None:
    line = formatted("processing failed for %s", "o", exc_info=_raised(ValueError("o")))
    assert tail(line).startswith('msg="processing failed for <ValueError>" exc_type=ValueError ')


def test_the_cause_s_text_is_withheld_too() -> None:
    info = _raised(RuntimeError("decode failed"), ValueError("Zephyrine"))
    line = formatted("skipped reason=%s", info[1].__cause__, exc_info=info)
    assert "Zephyrine" not in line
    assert "reason=<ValueError>" in line


def test_library_frames_are_named_from_their_package() -> None:
    assert logs._short_path("/w/.venv/lib/python3.11/site-packages/faust/app/base.py") == "faust/app/base.py"
    assert logs._short_path("/usr/lib/python3.11/asyncio/events.py") == "asyncio/events.py"
    assert logs._short_path(logs.__file__) == "streams/logs.py"


@pytest.fixture
def _no_context() -> Iterator[None]:
    yield
    assert tail(formatted("x")) == 'msg="x"', "a log context leaked out of its block"


@pytest.mark.usefixtures("_no_context")
def test_the_log_context_adds_its_ids_after_the_message_s_pairs() -> None:
    with log_context(topic="pms.commands", partition=2, offset=41, command_id="c-1", practice_id="smile-nyc"):
        line = formatted("reconciled found=%s", True)
    assert tail(line) == (
        'msg="reconciled" found=True topic=pms.commands partition=2 offset=41 command_id=c-1 practice_id=smile-nyc'
    )


@pytest.mark.usefixtures("_no_context")
def test_nested_contexts_add_and_override_then_restore() -> None:
    with log_context(topic="pms.commands", partition=1, offset=5):
        with log_context(offset=6, command_id="c-2"):
            assert tail(formatted("x")) == 'msg="x" topic=pms.commands partition=1 offset=6 command_id=c-2'
        assert tail(formatted("x")) == 'msg="x" topic=pms.commands partition=1 offset=5'


@pytest.mark.usefixtures("_no_context")
def test_a_message_s_own_id_wins_over_the_context_s() -> None:
    with log_context(command_id="outer", practice_id="p"):
        line = formatted("redrive command_id=%s", "inner")
    assert tail(line) == 'msg="redrive" command_id=inner practice_id=p'


@pytest.mark.usefixtures("_no_context")
def test_the_context_resets_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), log_context(command_id="c-1"):
        raise RuntimeError


@pytest.mark.usefixtures("_no_context")
async def test_tasks_inherit_the_context_of_where_they_start_and_do_not_share_it() -> None:
    lines: dict[str, str] = {}
    both_inside = asyncio.Barrier(2)

    async def handle(command_id: str) -> None:
        with log_context(command_id=command_id):
            await both_inside.wait()  # both contexts are set at once
            child = asyncio.create_task(log_in_a_child_task())
            lines[command_id] = tail(await child)

    async def log_in_a_child_task() -> str:
        return formatted("call sent")

    with log_context(topic="pms.commands"):
        await asyncio.gather(handle("c-1"), handle("c-2"))
    assert lines == {
        "c-1": 'msg="call sent" topic=pms.commands command_id=c-1',
        "c-2": 'msg="call sent" topic=pms.commands command_id=c-2',
    }


@pytest.fixture
def root_logging() -> Iterator[logging.Logger]:
    """configure_logging changes process-wide state: put the root logger and the quiet loggers back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in logs._QUIET}
    yield root
    root.handlers[:], root.level = handlers, level
    for name, was in quiet.items():
        logging.getLogger(name).setLevel(was)
    logging.captureWarnings(False)


def test_configure_logging_sends_every_record_to_stderr_through_the_formatter(
    root_logging: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("debug")
    (handler,) = root_logging.handlers
    assert isinstance(handler, logging.StreamHandler)
    assert handler.stream is sys.stderr
    assert isinstance(handler.formatter, KeyValueFormatter)
    assert root_logging.level == logging.DEBUG
    assert all(logging.getLogger(name).level == logging.WARNING for name in logs._QUIET)

    logging.getLogger("faust.worker").info("[^Worker]: Ready")
    logging.getLogger("httpx").info("HTTP Request: GET https://pms.example/patients?name=Zephyrine")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("old\nAPI", DeprecationWarning, stacklevel=1)
    lines = capsys.readouterr().err.splitlines()

    assert len(lines) == 2, lines
    assert all(_LINE.fullmatch(line) for line in lines), lines
    assert tail(lines[0]) == WORKER_READY
    assert "logger=py.warnings" in lines[1]
    assert "Zephyrine" not in "".join(lines)


def test_configure_logging_honours_the_level(root_logging: logging.Logger) -> None:
    configure_logging("warning")
    assert root_logging.level == logging.WARNING
    assert not logging.getLogger("streams.pipeline").isEnabledFor(logging.INFO)
