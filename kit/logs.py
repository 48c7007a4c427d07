"""Structured logs for the new side (services, dispatcher, gateway, dev inbox).

One JSON object per line on stderr: `time` (RFC 3339, UTC, milliseconds), `level`, `logger`,
`message`, `trace_id` while a request that carried one is handled, `key_id` and `client` once
the request's API key was accepted (never the secret), and `exc_info` (the formatted
traceback) when there is one. `readable` turns such a line back into one a developer reads.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

# The request's X-Amzn-Trace-Id (the ALB and the local gateway set it), set at each request edge.
TRACE_ID: ContextVar[str | None] = ContextVar("trace_id", default=None)
# The accepted API key's (key id, client) of the request being handled, set by the services' auth.
API_KEY: ContextVar[tuple[str, str] | None] = ContextVar("api_key", default=None)
# A client may send its own header: bounded, so it cannot bloat every line.
MAX_TRACE_ID_CHARS = 256
# uvicorn configures its own loggers (with their own handlers) before it calls the app factory.
SERVER_LOGGERS = ("uvicorn", "uvicorn.access")
ID_KEYS = ("request_id", "trace_id", "client")


def bounded_trace_id(header: str | None) -> str | None:
    return header[:MAX_TRACE_ID_CHARS] if header else None


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


class _JsonHandler(logging.Handler):
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
    """Every log record of the process, uvicorn's too, as JSON lines on stderr from `level` up."""
    handler = _JsonHandler()
    # A line holds none of the caller's file, line and function, nor the thread's or process's
    # ids: not gathering them for every record is the logging HOWTO's "Optimization" (a frame
    # walk and three look-ups per line, about a tenth of a request's logging in profiles).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _JsonHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        if server_logger.handlers:  # none: that log is switched off (uvicorn --no-access-log)
            server_logger.handlers = [handler]


def readable(line: str) -> str:
    """`HH:MM:SS.mmm LEVEL logger: message [trace_id=…]`, the traceback on the lines below;
    any line that is not one of these JSON objects comes back unchanged."""
    body = line.rstrip("\r\n")
    try:
        entry = json.loads(body)
        shown = (
            f"{datetime.fromisoformat(entry['time']).strftime('%H:%M:%S.%f')[:12]} "
            f"{entry['level']} {entry['logger']}: {entry['message']}"
        )
    except (ValueError, TypeError, KeyError):
        return line
    ids = " ".join(f"{key}={entry[key]}" for key in ID_KEYS if entry.get(key))
    if ids:
        shown += f" [{ids}]"
    if entry.get("exc_info"):
        shown += "\n" + str(entry["exc_info"])
    return shown + line[len(body):]
