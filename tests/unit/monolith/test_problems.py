"""Problem documents: fixed words per code, member order, Retry-After rounding."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monolith.problems import CATALOGUE, Problem, retry_after_seconds

API_DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"


@pytest.mark.parametrize(("ms", "seconds"), [(1, 1), (999, 1), (1000, 1), (1001, 2), (0, 1),
                                             (-5, 1), (29_500, 30), (3_600_000, 3600)])
def test_retry_after_is_whole_seconds_rounded_up_at_least_one(ms: int, seconds: int) -> None:
    assert retry_after_seconds(ms) == seconds


def test_invalid_parameter_names_the_field_last() -> None:
    body = Problem("invalid_parameter", field="to").body()
    assert list(body) == ["type", "title", "status", "detail", "code", "field"]
    assert body == {
        "type": "urn:problem:verify:invalid_parameter", "title": "Invalid parameter",
        "status": 400, "detail": "The parameter 'to' is missing or invalid.",
        "code": "invalid_parameter", "field": "to",
    }


def test_every_429_and_503_carries_retry_after() -> None:
    for code, (status, _title, _detail) in CATALOGUE.items():
        headers = Problem(code).headers()
        assert ("Retry-After" in headers) == (status in (429, 503)), code


def test_the_table_of_the_api_document() -> None:
    assert CATALOGUE["rate_limited"] == (
        429, "Too many requests", "Too many verifications were sent; retry later."
    )
    assert CATALOGUE["not_pending"][1] == "Verification not pending"
    rows = re.findall(r"^\| (\d{3}) \| `(\w+)` \| ([^|]+) \| ([^|]+) \|$", API_DOC.read_text(),
                      re.MULTILINE)
    assert {code: (int(status), title, detail) for status, code, title, detail in rows} == (
        CATALOGUE)
    assert len(CATALOGUE) == 22
    assert Problem("unauthorized").body() == {
        "type": "urn:problem:verify:unauthorized", "title": "Unauthorized", "status": 401,
        "detail": "A valid API key is required.", "code": "unauthorized"}
    assert Problem("unauthorized").headers() == {"WWW-Authenticate": 'Bearer realm="verify"'}
    assert Problem("forbidden").body() == {
        "type": "urn:problem:verify:forbidden", "title": "Forbidden", "status": 403,
        "detail": "The API key does not allow this operation.", "code": "forbidden"}
