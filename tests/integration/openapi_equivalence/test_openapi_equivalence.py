"""The monolith's hand-written OpenAPI document and the services' generated one publish the same
contract for every route both serve: methods, parameters, request bodies, status codes, media
types, response schemas and headers (normalise.py says what may be spelled differently)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monolith import create_app as create_monolith
from monolith.settings import Settings as MonolithSettings
from services.send.app import create_app as create_send_app
from services.verify.app import create_app as create_verify_app
from tests.integration.openapi_equivalence.normalise import differences, normalise_routes
from tests.integration.services.support import make_settings

SHARED_ROUTES = {
    "/api/verifications",
    "/api/verifications/{}",
    "/api/verifications/{}/cancel",
    "/api/verification-checks",
}
MONOLITH_FILE = Path(__file__).resolve().parents[3] / "monolith" / "openapi.json"
NAMES = ("monolith", "services")


@pytest.fixture(scope="module")
def monolith_document(redis_url: str) -> dict[str, Any]:
    """The document GET /openapi.json serves (the checked-in file, byte for byte)."""
    app = create_monolith(MonolithSettings(redis_url=redis_url))
    response = app.test_client().get("/openapi.json")
    app.extensions["monolith"].redis.close()
    assert response.status_code == 200
    assert response.data == MONOLITH_FILE.read_bytes()
    document: dict[str, Any] = json.loads(response.data)
    return document


@pytest.fixture(scope="module")
def services_document(redis_url: str) -> dict[str, Any]:
    """The send and verify services' documents, one path table (they own disjoint routes)."""
    send = create_send_app(make_settings(redis_url)).openapi()
    verify = create_verify_app(make_settings(redis_url)).openapi()
    assert not set(send["paths"]) & set(verify["paths"]) - {"/healthz", "/readyz", "/metrics"}
    components = {**send["components"]["schemas"], **verify["components"]["schemas"]}
    return {
        "paths": {**verify["paths"], **send["paths"]},
        "components": {"schemas": components},
    }


def test_both_publish_every_shared_route(
    monolith_document: dict[str, Any], services_document: dict[str, Any]
) -> None:
    assert set(normalise_routes(monolith_document, SHARED_ROUTES)) == SHARED_ROUTES
    assert set(normalise_routes(services_document, SHARED_ROUTES)) == SHARED_ROUTES


@pytest.mark.parametrize("route", sorted(SHARED_ROUTES))
def test_route_is_published_alike(
    monolith_document: dict[str, Any], services_document: dict[str, Any], route: str
) -> None:
    monolith = normalise_routes(monolith_document, {route})[route]
    services = normalise_routes(services_document, {route})[route]
    assert sorted(monolith) == sorted(services), f"{route}: methods differ"
    found = list(differences(monolith, services, NAMES))
    assert not found, f"{route} is published differently ({len(found)}):\n" + "\n".join(found)
