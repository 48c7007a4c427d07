"""What every component's log output must be: one JSON object per line with the common keys."""

from __future__ import annotations

import json
import re
from typing import Any

RFC3339_UTC_MILLIS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
KEYS = ("time", "level", "logger", "message")


def json_log_lines(output: str) -> list[dict[str, Any]]:
    """Each line of `output` parsed; fails on any line that is not such a JSON log object."""
    entries: list[dict[str, Any]] = []
    for line in output.splitlines():
        entry = json.loads(line)  # a line that is not JSON fails the test here
        assert isinstance(entry, dict), line
        assert all(isinstance(entry.get(key), str) for key in KEYS), line
        assert RFC3339_UTC_MILLIS.fullmatch(entry["time"]), line
        entries.append(entry)
    return entries
