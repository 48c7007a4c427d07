"""The monolith's logs: one JSON object per line on stderr.

Keys: `time` (RFC 3339, UTC, milliseconds), `level`, `logger`, `message`, `trace_id` while a
request that carried an X-Amzn-Trace-Id is handled, `client` and `key_id` once its API key was
accepted (monolith.auth; never the secret), and `exc_info` (the formatted traceback) when
there is one. gunicorn's error log goes the same way (gunicorn_conf.JsonLogger); the events
consumer calls `configure`.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, request

TRACE_ID: ContextVar[str | None] = ContextVar("monolith_trace_id", default=None)
# The accepted API key's (key id, client) of the request being handled.
API_KEY: ContextVar[tuple[str, str] | None] = ContextVar("monolith_api_key", default=None)
# A client may send its own header: bounded, so it cannot bloat every line.
MAX_TRACE_ID_CHARS = 256


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        trace_id = TRACE_ID.get()
        if trace_id is not None:
            entry["trace_id"] = trace_id
        api_key = API_KEY.get()
        if api_key is not None:
            entry["key_id"], entry["client"] = api_key
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class JsonHandler(logging.Handler):
    """JSON lines on stderr; ours, so that configuring again replaces it instead of adding one.
    Writes to sys.stderr of the moment (as logging.lastResort does), wherever it was redirected."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def configure(level: str) -> None:
    """Every log record of the process as JSON lines on stderr, from `level` up."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, JsonHandler)]:
        root.removeHandler(old)
    root.addHandler(JsonHandler())
    root.setLevel(level.upper())


def _remember_trace_id() -> None:
    header = request.headers.get("X-Amzn-Trace-Id")
    TRACE_ID.set(header[:MAX_TRACE_ID_CHARS] if header else None)


def _forget_trace_id(_error: BaseException | None) -> None:
    TRACE_ID.set(None)
    API_KEY.set(None)


def init_app(app: Flask) -> None:
    """Call before any other before_request: a request refused there still logs its trace id."""
    app.before_request(_remember_trace_id)
    app.teardown_request(_forget_trace_id)
