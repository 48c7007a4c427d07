"""The API key of each verification API request (docs/api.md "Authentication"): 401, 403, g.client.

Runs as a before_request after the body-size and HEAD checks; a path or method that does not exist
has no endpoint here, so it stays a 404 / 405.
"""

from __future__ import annotations

import logging
from typing import cast

from flask import Flask, current_app, g, request

from monolith.api_keys import ApiKeyring, KeyringFile, KeyringSecret, KeyringSource, SecretsClient
from monolith.logs import API_KEY
from monolith.problems import Problem
from monolith.settings import Settings, SettingsError

EXTENSION_KEY = "api_keys"
logger = logging.getLogger("monolith.auth")

# The endpoints that need a key and the scope each needs; any other endpoint needs no key.
SCOPE_OF_ENDPOINT = {
    "verifications.start_verification": "send",
    "verifications.get_verification": "read",
    "verifications.cancel_verification": "cancel",
    "checks.check_code": "check",
    "users.start_user_verification": "send",  # the users area's send (docs/api.md "Users")
}


def secrets_manager(arn: str) -> SecretsClient:
    import boto3

    # The secret's own region (arn:aws:secretsmanager:REGION:...), whatever the process's default.
    parts = arn.split(":")
    region = parts[3] if len(parts) > 3 and parts[3] else None
    return cast(SecretsClient, boto3.client("secretsmanager", region_name=region))


def keyring_source(settings: Settings) -> KeyringSource | None:
    if settings.keyring_file:
        return KeyringFile(settings.keyring_file)
    if arn := settings.keyring_secret_arn:
        return KeyringSecret(arn, secrets_manager(arn))
    return None


def build_keyring(settings: Settings) -> ApiKeyring:
    """The keyring at start; production refuses to start without one holding a usable key."""
    source = keyring_source(settings)
    if settings.app_env == "production" and source is None:
        raise SettingsError(
            "APP_ENV=production requires a keyring: set KEYRING_SECRET_ARN (or KEYRING_FILE) "
            'to the API keys\' keyring (docs/api.md "The keyring")'
        )
    keyring = ApiKeyring(source, settings.keyring_reload_seconds)
    if settings.app_env == "production" and keyring.active_keys() == 0:
        assert source is not None
        raise SettingsError(
            f"APP_ENV=production requires a key that is not revoked in the keyring ({source.name})"
            ": add one (`./dev keys create NAME`)"
        )
    return keyring


def authenticate() -> None:
    scope = SCOPE_OF_ENDPOINT.get(request.endpoint or "")
    if scope is None:
        return
    keyring: ApiKeyring = current_app.extensions[EXTENSION_KEY]
    keyring.reload_if_due()
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    key_id, _, secret = credentials.partition(".")
    if scheme.lower() != "bearer" or not key_id or not secret:
        raise Problem("unauthorized")
    key = keyring.authenticate(key_id, secret)
    if key is None:
        raise Problem("unauthorized")
    g.client = key.client
    g.key_id = key.id
    API_KEY.set((key.id, key.client))
    if scope not in key.scopes:
        raise Problem("forbidden")


def init_app(app: Flask, settings: Settings) -> None:
    """Register after the body-size and HEAD checks: they come first (docs/api.md)."""
    app.extensions[EXTENSION_KEY] = build_keyring(settings)
    app.before_request(authenticate)
