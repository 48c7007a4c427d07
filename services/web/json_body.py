"""Read a JSON request body: 415 for another media type, 400 malformed_json when it won't parse."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from services.web.errors import ProblemError


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which duplicate wins: a proxy and a backend could read different values.
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("duplicate member name")
    return members


def is_json_media_type(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == "application/json"


async def read_json_body(request: Request) -> Any:
    if not is_json_media_type(request.headers.get("content-type")):
        raise ProblemError("unsupported_media_type")
    raw = await request.body()
    try:
        return json.loads(
            raw.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_unique_members
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProblemError("malformed_json") from None
