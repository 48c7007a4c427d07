"""The monolith's own metrics and its hand-written /openapi.json (health: contract_tests)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

PHONE = "+14155550100"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "api.md"


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_sends_and_checks(client: FlaskClient) -> None:
    before = client.get("/metrics").get_data(as_text=True)
    client.post("/api/verifications", json={"to": PHONE, "channel": "sms"})
    client.post("/api/verification-checks", json={"to": PHONE, "code": "0000"})
    client.get("/api/verifications/nope")
    response = client.get("/metrics")
    assert response.mimetype == "text/plain"
    after = response.get_data(as_text=True)
    for name, labels in [
        ("monolith_sends_total", {"outcome": "created"}),
        ("monolith_checks_total", {"outcome": "wrong"}),
        ("monolith_http_requests_total",
         {"route": "/api/verifications", "method": "POST", "status": "201"}),
        ("monolith_http_requests_total",
         {"route": "/api/verifications/<verification_id>", "status": "404"}),
    ]:
        assert metric(after, name, **labels) == metric(before, name, **labels) + 1, name


def test_openapi_document_covers_exactly_the_routes(app: Flask, client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
    }
    served = {
        (method, re.sub(r"<(\w+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert documented == served


def test_openapi_problem_codes_are_those_of_the_api_document(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    codes = set(document["components"]["schemas"]["Problem"]["properties"]["code"]["enum"])
    table = set(re.findall(r"^\| \d{3} \| `(\w+)` \|", DOCS.read_text(), re.MULTILINE))
    assert codes == table and len(codes) == 22


def test_openapi_is_plain_json(client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.mimetype == "application/json"
    json.loads(response.get_data())
