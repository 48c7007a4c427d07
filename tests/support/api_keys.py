"""Keyrings for tests (docs/api.md "The keyring"), keys made as `./dev keys create` makes them."""

from __future__ import annotations

import hashlib
import json
import secrets
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ALL_SCOPES = ("send", "check", "read", "cancel")


@dataclass(frozen=True)
class IssuedKey:
    id: str
    secret: str
    client: str
    scopes: tuple[str, ...] = ALL_SCOPES
    revoked: bool = False

    @property
    def token(self) -> str:
        return f"{self.id}.{self.secret}"

    @property
    def authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def entry(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client": self.client,
            "scopes": list(self.scopes),
            "created_at": "2026-12-01T20:00:00.000Z",
            "revoked": self.revoked,
            "secret_sha256": hashlib.sha256(self.secret.encode()).hexdigest(),
        }


def new_key(client: str = "tests", scopes: tuple[str, ...] = ALL_SCOPES,
            revoked: bool = False) -> IssuedKey:
    key_id, secret = "ak_" + secrets.token_hex(8), secrets.token_urlsafe(32)
    return IssuedKey(key_id, secret, client, scopes, revoked)


def keyring_text(*keys: IssuedKey) -> str:
    return json.dumps({"version": 1, "keys": [key.entry() for key in keys]})


def write_keyring(path: Path, *keys: IssuedKey) -> Path:
    path.write_text(keyring_text(*keys), encoding="utf-8")
    return path


@cache
def shared_key() -> IssuedKey:
    """The one all-scopes key of the integration tests' apps (client `tests`)."""
    return new_key()


@cache
def shared_keyring_file() -> str:
    """A keyring file holding `shared_key()`, one per test process."""
    folder = Path(tempfile.mkdtemp(prefix="test-keyring-"))
    return str(write_keyring(folder / "keyring.json", shared_key()))
