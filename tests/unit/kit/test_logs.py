"""kit.logs: the new side's JSON log lines, one logging setup per process, and the readable form."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest
import uvicorn

from kit import logs
from tests.support.json_logs import json_log_lines


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure() changes the process's logging: put the root and uvicorn's loggers back."""
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error",
                                                    "uvicorn.access")]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def formatted(record: logging.LogRecord) -> dict[str, str]:
    parsed = json.loads(logs.JsonFormatter().format(record))
    assert isinstance(parsed, dict)
    return parsed


def record(message: str = "sent %s", *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("services.web", logging.WARNING, __file__, 1, message, args, None)
    made.created = 1767323045.1234  # 2026-01-02T03:04:05.123Z
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def test_a_record_is_one_json_object_with_the_common_keys() -> None:
    assert formatted(record("sent %s", "sms")) == {
        "time": "2026-01-02T03:04:05.123Z", "level": "WARNING", "logger": "services.web",
        "message": "sent sms",
    }


def test_a_multi_line_message_stays_one_line() -> None:
    line = logs.JsonFormatter().format(record("first\nsecond"))
    assert "\n" not in line and json.loads(line)["message"] == "first\nsecond"


def test_the_trace_id_of_the_request_in_hand_is_on_the_line() -> None:
    token = logs.TRACE_ID.set("Root=1-67891233-abcdef012345678912345678")
    try:
        entry = formatted(record())
    finally:
        logs.TRACE_ID.reset(token)
    assert entry["trace_id"] == "Root=1-67891233-abcdef012345678912345678"
    assert "trace_id" not in formatted(record())


def test_a_long_trace_header_is_cut_and_a_missing_one_is_none() -> None:
    assert logs.bounded_trace_id("x" * 5000) == "x" * logs.MAX_TRACE_ID_CHARS
    assert logs.bounded_trace_id("") is None and logs.bounded_trace_id(None) is None


def test_exc_info_is_a_string_field() -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        entry = formatted(record(exc_info=sys.exc_info()))
    assert entry["exc_info"].startswith("Traceback (most recent call last):")
    assert entry["exc_info"].endswith("ValueError: broken")


def test_configure_writes_json_to_stderr_once_however_often_called(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("info")
    logs.configure("debug")
    logging.getLogger("services.dispatcher").debug("hello %d", 1)
    [entry] = json_log_lines(capsys.readouterr().err)
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "DEBUG", "services.dispatcher", "hello 1")


def test_configure_takes_over_uvicorns_handlers_but_keeps_a_switched_off_access_log(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # uvicorn's own logging setup, as `--no-access-log` makes it, before it calls the factory
    uvicorn.Config("services.send.app:create_app", factory=True, access_log=False)
    logs.configure("INFO")
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    assert not logging.getLogger("uvicorn.access").hasHandlers()  # uvicorn then writes none
    [entry] = json_log_lines(capsys.readouterr().err)
    assert (entry["logger"], entry["message"]) == ("uvicorn.error", "Started server process [42]")


def test_readable_line() -> None:
    line = json.dumps({"time": "2026-01-02T03:04:05.123Z", "level": "INFO",
                       "logger": "services.web", "message": "send outcome=sent"})
    assert logs.readable(line) == "03:04:05.123 INFO services.web: send outcome=sent"
    assert logs.readable(line + "\n") == "03:04:05.123 INFO services.web: send outcome=sent\n"


def test_readable_line_with_ids_and_traceback() -> None:
    line = json.dumps({"time": "2026-01-02T23:59:59.007Z", "level": "ERROR", "logger": "monolith",
                       "message": "unexpected", "request_id": "r-1", "trace_id": "Root=1-a-b",
                       "exc_info": "Traceback (most recent call last):\nValueError: x"})
    assert logs.readable(line) == (
        "23:59:59.007 ERROR monolith: unexpected [request_id=r-1 trace_id=Root=1-a-b]\n"
        "Traceback (most recent call last):\nValueError: x")


@pytest.mark.parametrize("line", [
    "gateway: listening on http://127.0.0.1:8080\n",
    "",
    "[2026-01-02 03:04:05 +0000] [7] [INFO] Booting worker with pid: 7",
    '{"level": "INFO", "message": "no time"}',
    '{"time": "yesterday", "level": "INFO", "logger": "x", "message": "m"}',
    '["a", "list"]',
    "42",
    '{"time": "2026-01-02T03:04:05.123Z", "level": "INFO"',
])
def test_readable_leaves_any_other_line_as_it_is(line: str) -> None:
    assert logs.readable(line) == line
