"""Read a JSON request body: 415 for another media type, 400 malformed_json when it won't parse.

What is accepted, and the values it parses to, are the standard library's with two refusals more:
duplicate member names (parsers disagree on which one wins: a proxy and a backend could read
different values) and NaN / Infinity (not JSON). orjson parses first, being several times faster;
its result is kept only when it is certainly the one the standard library's parse gives:

- no float anywhere: orjson turns an integer beyond 64 bits into a float (the standard library
  keeps it exact), and a float is rare in these bodies, so any float takes the slow path;
- no duplicate member: orjson keeps the last one silently. With no backslash in the body (so no
  escape can make a `:` inside a string), every `:` of the body is a member's or lies in a
  string, and the parsed strings hold no more `:` than the body's strings did; so when the body's
  count of `:` equals the parsed members plus the `:` in the parsed strings, no member was
  dropped.

Anything else (a body orjson refuses, a float, a backslash, counts that differ) is parsed by the
standard library with the duplicate check, which decides as it always did.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi import Request

from services.web.errors import ProblemError


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("duplicate member name")
    return members


def is_json_media_type(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == "application/json"


def _certainly_as_parsed(raw: bytes, value: Any) -> bool:
    """Whether orjson's `value` of `raw` is what the standard library's parse gives (above)."""
    if b"\\" in raw:
        return False
    colons = 0  # members, and the `:` in parsed strings
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            colons += item.count(":")
        elif isinstance(item, dict):
            colons += len(item)
            for key, member in item.items():
                colons += key.count(":")
                pending.append(member)
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, float):
            return False
    return raw.count(b":") == colons


def parse_json(raw: bytes) -> Any:
    """The body's value; ValueError (or RecursionError) when it is not JSON by the rules above."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    else:
        if _certainly_as_parsed(raw, value):
            return value
    return json.loads(
        raw.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_unique_members
    )


async def read_json_body(request: Request) -> Any:
    if not is_json_media_type(request.headers.get("content-type")):
        raise ProblemError("unsupported_media_type")
    raw = await request.body()
    try:
        return parse_json(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProblemError("malformed_json") from None
