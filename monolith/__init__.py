"""The legacy monolith: a Flask app serving the verification API of docs/api.md and the users area.

gunicorn runs `monolith:create_app()`; the events consumer runs as `python -m monolith.events`.
"""

from __future__ import annotations

from flask import Flask

from monolith.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    from monolith import auth, checks, errors, logs, ops, users, verifications
    from monolith.extensions import RedisExtension

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    logs.init_app(app)
    # Our own limit, not werkzeug's MAX_CONTENT_LENGTH: werkzeug cuts a chunked body short at the
    # limit without saying so, which would read as malformed JSON instead of 413.
    app.config["MAX_BODY_BYTES"] = settings.max_body_bytes
    RedisExtension().init_app(app, settings)
    for blueprint in (verifications.bp, checks.bp, users.bp, ops.bp):
        app.register_blueprint(blueprint)
    errors.init_app(app)
    app.before_request(_reject_oversized_body)
    app.before_request(_refuse_head)
    auth.init_app(app, settings)
    return app


def _refuse_head() -> None:
    # Flask answers HEAD on every GET route by itself; docs/api.md: HEAD is not part of the API.
    from flask import request
    from werkzeug.exceptions import MethodNotAllowed

    if request.method == "HEAD" and request.path.startswith("/api/"):
        allowed = request.url_rule.methods or set() if request.url_rule else set()
        raise MethodNotAllowed(valid_methods=sorted(allowed - {"HEAD", "OPTIONS"}))


def _reject_oversized_body() -> None:
    # Size comes first on every route, as the services' ASGI middleware does (docs/api.md).
    from flask import current_app, request

    from monolith.problems import Problem

    limit = current_app.config["MAX_BODY_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise Problem("payload_too_large")
