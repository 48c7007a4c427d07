"""The normaliser equates only spellings and still sees every real difference (so the equivalence
test can fail)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.openapi_equivalence.normalise import (
    differences,
    normalise_routes,
    normalise_schema,
)

MONOLITH_FILE = Path(__file__).resolve().parents[3] / "monolith" / "openapi.json"
ROUTES = {
    "/api/verifications",
    "/api/verifications/{}",
    "/api/verifications/{}/cancel",
    "/api/verification-checks",
}


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"anyOf": [{"type": "string", "title": "Field"}, {"type": "null"}]},
         {"type": ["string", "null"]}),
        ({"const": "true"}, {"type": "string", "enum": ["true"]}),
        ({"type": "object", "required": ["b", "a"], "additionalProperties": True},
         {"type": "object", "required": ["a", "b"]}),
        ({"oneOf": [{"type": "integer"}, {"type": "string"}]},
         {"oneOf": [{"type": "string"}, {"type": "integer"}]}),
        ({"type": "string", "pattern": "^a(?:b)?$"}, {"type": "string", "pattern": "^a(b)?$"}),
        ({"type": "object", "properties": {"title": {"type": "string"}}, "title": "Problem"},
         {"type": "object", "properties": {"title": {"type": "string"}}}),
    ],
)
def test_spellings_are_equated(one: dict[str, Any], other: dict[str, Any]) -> None:
    assert normalise_schema(one) == normalise_schema(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"type": "string", "pattern": "^[0-9]{4,10}$"}, {"type": "string", "pattern": "^[0-9]+$"}),
        ({"type": "string", "maxLength": 254}, {"type": "string"}),
        ({"type": "string"}, {"type": ["string", "null"]}),
        ({"type": "object", "additionalProperties": False}, {"type": "object"}),
        ({"enum": ["pending", "approved"]}, {"enum": ["pending", "approved", "expired"]}),
        ({"type": "object", "required": ["to"]}, {"type": "object", "required": []}),
        ({"type": "integer", "minimum": 1}, {"type": "string", "pattern": "^[1-9][0-9]*$"}),
    ],
)
def test_real_differences_remain(one: dict[str, Any], other: dict[str, Any]) -> None:
    assert normalise_schema(one) != normalise_schema(other)


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        ("drop cancel's 413", "post.responses.413: only in monolith"),
        ("optional Location", "post.responses.201.headers.location.required"),
        ("rename the path parameter", ""),
        ("loosen the code pattern", "properties.code.pattern"),
    ],
)
def test_a_changed_document_is_reported_by_path(mutation: str, expected: str) -> None:
    original = json.loads(MONOLITH_FILE.read_text())
    changed = copy.deepcopy(original)
    paths = changed["paths"]
    if mutation == "drop cancel's 413":
        del paths["/api/verifications/{verification_id}/cancel"]["post"]["responses"]["413"]
    elif mutation == "optional Location":
        paths["/api/verifications"]["post"]["responses"]["201"]["headers"]["Location"][
            "required"] = False
    elif mutation == "rename the path parameter":  # a spelling: no difference expected
        item = paths.pop("/api/verifications/{verification_id}")
        item["get"]["parameters"][0]["name"] = "id"
        paths["/api/verifications/{id}"] = item
    else:
        changed["components"]["schemas"]["Code"]["pattern"] = "^[0-9]+$"
    one, other = normalise_routes(original, ROUTES), normalise_routes(changed, ROUTES)
    found = "\n".join(differences(one, other, ("monolith", "changed")))
    if expected:
        assert expected in found, found
    else:
        assert found == ""
