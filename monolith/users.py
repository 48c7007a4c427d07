"""The legacy users area: POST /api/users, GET /api/users/<id>, and verifying a user's own phone
or email with POST /api/users/<id>/verifications (docs/api.md "Users")."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from monolith import keys, store, users_store
from monolith.extensions import Backend, backend
from monolith.problems import Problem, invalid
from monolith.rendering import render_user
from monolith.validation import USER_ID, SendRequest, parse_user, parse_user_send
from monolith.verifications import send_response, send_verification
from monolith.web import json_response, read_json_body

bp = Blueprint("users", __name__)
# Sends of one request that may each find another user's verification pending (one made by a
# send racing this one, or a live one of the other storage version) and cancel it first.
SEND_ROUNDS = 3


@bp.post("/api/users", provide_automatic_options=False)
def create_user() -> Response:
    ctx = backend()
    user_request = parse_user(read_json_body(ctx.settings.max_body_bytes))
    user = users_store.create_user(ctx.redis, ctx.settings.users_ttl_seconds, user_request)
    location = f"/api/users/{user['id']}"
    return json_response(render_user(user), 201, {"Location": location})


def _find_user(ctx: Backend, user_id: str) -> dict[str, str]:
    user = users_store.get_user(ctx.redis, user_id) if USER_ID.fullmatch(user_id) else None
    if user is None:
        raise Problem("not_found")
    return user


@bp.get("/api/users/<user_id>", provide_automatic_options=False)
def get_user(user_id: str) -> Response:
    return json_response(render_user(_find_user(backend(), user_id)))


@bp.post("/api/users/<user_id>/verifications", provide_automatic_options=False)
def start_user_verification(user_id: str) -> Response:
    """The verification send path, to the user's own destination, with the user's id as its
    reference: only its approval marks the user (monolith/events.py)."""
    ctx = backend()
    body = read_json_body(ctx.settings.max_body_bytes)
    wanted = parse_user_send(body)
    user = _find_user(ctx, user_id)
    destination = users_store.DESTINATIONS[wanted.channel]
    to = user.get(destination.field)
    if not to:
        raise invalid("channel")
    send_request = SendRequest(
        to=to, channel=wanted.channel, locale=wanted.locale, reference=user_id
    )
    # The client's pending verification for this destination would be resent, code and
    # reference unchanged, and its approval would mark another user (or nobody): cancel it, so
    # that a code only ever approves the user it was sent for.
    _cancel_unless_users(ctx, user_id, _pending_id(ctx, wanted.channel, to))
    path = request.path
    for _ in range(SEND_ROUNDS):
        result = send_verification(send_request, path, body, destination.field)
        assert result.record is not None
        if result.record.get("reference") == user_id:
            return send_response(result)
        # another user's was pending after all (a racing send's) and was resent
        _cancel_unless_users(ctx, user_id, str(result.record["id"]))
        _forget_idempotency_key(ctx)
    raise Problem("service_unavailable")


def _pending_id(ctx: Backend, channel: str, to: str) -> str | None:
    return store.live_verification_id(ctx.redis, ctx.settings, ctx.keyring, g.client, channel, to)


def _cancel_unless_users(ctx: Backend, user_id: str, verification_id: str | None) -> None:
    """Cancel the caller's verification unless it was started for this user; one that is not
    pending (approved, exhausted...) stays as it is, and the send script judges it."""
    if verification_id is None:
        return
    found = store.read(ctx.redis, ctx.scripts, ctx.settings, g.client, verification_id)
    if found is not None and found[0].get("reference") != user_id:
        store.cancel(ctx.redis, ctx.scripts, ctx.settings, g.client, verification_id)


def _forget_idempotency_key(ctx: Backend) -> None:
    """The answer stored for this request's Idempotency-Key was another user's verification: drop
    it, so that the next round stores this user's instead of replaying it."""
    idempotency_key = request.headers.get("Idempotency-Key")
    if idempotency_key is not None:
        ctx.redis.delete(keys.idempotency(ctx.keyring.idem_hash(g.client, idempotency_key)))
