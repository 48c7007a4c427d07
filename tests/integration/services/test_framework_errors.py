"""FastAPI's own failure paths answer problem+json too (request validation, bad JSON, crashes)."""

from __future__ import annotations

from typing import Any

import httpx
import redis
from fastapi import Body

from services.send.app import create_app
from tests.integration.services.support import make_settings, serve


async def test_framework_validation_maps_to_invalid_parameter(
    redis_url: str, redis_client: redis.Redis
) -> None:
    app = create_app(make_settings(redis_url))

    @app.post("/probe")
    async def probe(limit: int, payload: dict[str, Any] = Body()) -> dict[str, int]:  # noqa: B008
        return {"limit": limit}

    async with serve(app) as client:
        bad_query = await client.post("/probe?limit=many", json={})
        assert bad_query.status_code == 400
        assert bad_query.json()["code"] == "invalid_parameter"
        assert bad_query.json()["field"] == "limit"
        bad_json = await client.post("/probe?limit=1", content=b"{",
                                     headers={"Content-Type": "application/json"})
        assert (bad_json.status_code, bad_json.json()["code"]) == (400, "malformed_json")


async def test_unexpected_error_is_500_problem(redis_url: str, redis_client: redis.Redis) -> None:
    app = create_app(make_settings(redis_url))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "internal_error"
