"""The legacy monolith: a Flask app serving the verification API of docs/api.md and the users area.

gunicorn runs `monolith:create_app()`; the events consumer runs as `python -m monolith.events`.
"""

from __future__ import annotations

from flask import Flask

from monolith.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    from monolith import checks, errors, ops, users, verifications
    from monolith.extensions import RedisExtension

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    RedisExtension().init_app(app, settings)
    for blueprint in (verifications.bp, checks.bp, users.bp, ops.bp):
        app.register_blueprint(blueprint)
    errors.init_app(app)
    return app
