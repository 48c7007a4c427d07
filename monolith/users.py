"""The legacy users area: POST /api/users, GET /api/users/<id>."""

from __future__ import annotations

from flask import Blueprint, Response

from monolith import users_store
from monolith.extensions import backend
from monolith.problems import Problem
from monolith.rendering import render_user
from monolith.validation import USER_ID, parse_user
from monolith.web import json_response, read_json_body

bp = Blueprint("users", __name__)


@bp.post("/api/users", provide_automatic_options=False)
def create_user() -> Response:
    ctx = backend()
    user_request = parse_user(read_json_body(ctx.settings.max_body_bytes))
    user = users_store.create_user(
        ctx.redis, ctx.keyring, ctx.settings.users_ttl_seconds, user_request
    )
    location = f"/api/users/{user['id']}"
    return json_response(render_user(user), 201, {"Location": location})


@bp.get("/api/users/<user_id>", provide_automatic_options=False)
def get_user(user_id: str) -> Response:
    ctx = backend()
    user = users_store.get_user(ctx.redis, user_id) if USER_ID.fullmatch(user_id) else None
    if user is None:
        raise Problem("not_found")
    return json_response(render_user(user))
