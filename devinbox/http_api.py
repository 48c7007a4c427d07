"""The HTTP side: read and clear messages, accept SMS from the dev SMS adapter, the HTML page."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from devinbox.arrivals import MAX_WAIT_SECONDS, Arrivals
from devinbox.page import CONTENT_SECURITY_POLICY, render_page
from devinbox.problems import STATUS_CODES, Problem, problem_response
from devinbox.store import MessageStore, new_message

MAX_BODY_BYTES = 64 * 1024
MAX_TO_CHARS = 320
MAX_SMS_CHARS = 1600  # ten concatenated SMS segments
STORE_KEY = web.AppKey("store", MessageStore)
ARRIVALS_KEY = web.AppKey("arrivals", Arrivals)


def _text_field(payload: dict[str, Any], name: str, max_chars: int) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
        raise Problem("invalid_parameter", field=name)
    if name == "to" and any(not char.isprintable() for char in value):
        raise Problem("invalid_parameter", field=name)
    return value


async def _json_object(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise Problem("unsupported_media_type")
    raw = await request.read()  # aiohttp raises 413 beyond client_max_size
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise Problem("malformed_json") from None
    if not isinstance(payload, dict):
        raise Problem("invalid_parameter", field="body")
    return payload


async def post_sms(request: web.Request) -> web.Response:
    payload = await _json_object(request)
    unknown = sorted(set(payload) - {"to", "body"})
    if unknown:
        raise Problem("invalid_parameter", field=unknown[0])
    to = _text_field(payload, "to", MAX_TO_CHARS)
    body = _text_field(payload, "body", MAX_SMS_CHARS)
    key = request.headers.get("Idempotency-Key")
    message = new_message("sms", to=to, body=body, delivery_key=key)
    stored = request.app[STORE_KEY].add(message)
    return web.json_response(stored.as_json(), status=201 if stored is message else 200)


def destination_from_query(raw: str | None) -> str | None:
    """`?to=+14155550100` sent without encoding the `+` arrives as a space: read it as the `+`."""
    if raw is not None and raw.startswith(" ") and raw[1:].isdigit():
        return "+" + raw[1:]
    return raw


def wait_seconds_from_query(raw: str | None, to: str | None) -> float:
    """`wait`: seconds (0 to 30) to wait for a first message to `to` when there is none yet."""
    if raw is None:
        return 0.0
    try:
        seconds = float(raw)
    except ValueError:
        raise Problem("invalid_parameter", field="wait") from None
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_WAIT_SECONDS:
        raise Problem("invalid_parameter", field="wait")
    if to is None:  # waiting is per destination
        raise Problem("invalid_parameter", field="to")
    return seconds


async def list_messages(request: web.Request) -> web.Response:
    to = destination_from_query(request.query.get("to"))
    wait = wait_seconds_from_query(request.query.get("wait"), to)
    if wait and to is not None:
        messages = await request.app[ARRIVALS_KEY].newest_first(to, wait)
    else:
        messages = request.app[STORE_KEY].newest_first(to=to)
    return web.json_response({"messages": [message.as_json() for message in messages]})


async def delete_messages(request: web.Request) -> web.Response:
    request.app[STORE_KEY].clear()
    return web.Response(status=204)


async def index(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    response = web.Response(
        text=render_page(store.newest_first(), store.capacity), content_type="text/html"
    )
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "messages": len(request.app[STORE_KEY])})


@web.middleware
async def problems_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except Problem as problem:
        return problem_response(problem.code, problem.field)
    except web.HTTPException as exc:
        code = STATUS_CODES.get(exc.status)
        if code is None:
            raise
        return problem_response(code)
    return response


async def arrivals_ctx(app: web.Application) -> AsyncIterator[None]:
    app[ARRIVALS_KEY] = Arrivals(app[STORE_KEY], asyncio.get_running_loop())
    yield


async def answer_waiters(app: web.Application) -> None:
    """Stopping: waiting requests are answered now rather than holding the shutdown."""
    app[ARRIVALS_KEY].close()


def create_app(store: MessageStore) -> web.Application:
    app = web.Application(middlewares=[problems_middleware], client_max_size=MAX_BODY_BYTES)
    app[STORE_KEY] = store
    app.cleanup_ctx.append(arrivals_ctx)
    app.on_shutdown.append(answer_waiters)
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/messages", list_messages)
    app.router.add_delete("/messages", delete_messages)
    app.router.add_post("/sms", post_sms)
    return app
