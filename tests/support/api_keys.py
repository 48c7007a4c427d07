"""Keyrings for tests (docs/api.md "The keyring"), keys made by `./dev keys`' own code
(devtools/keys.py), with their secrets kept so tests can present them."""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from devtools import keys

ALL_SCOPES = keys.SCOPES


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

    def api_key(self) -> keys.ApiKey:
        entry = keys.entry_for(self.token, self.client, self.scopes)
        return dataclasses.replace(entry, revoked=self.revoked)

    def entry(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self.api_key()), "scopes": list(self.scopes)}


def new_key(client: str = "tests", scopes: tuple[str, ...] = ALL_SCOPES,
            revoked: bool = False) -> IssuedKey:
    made, token = keys.new_key(client, scopes)
    return IssuedKey(made.id, token.partition(".")[2], client, made.scopes, revoked)


def keyring_text(*issued: IssuedKey) -> str:
    return keys.dump_keyring(keys.Keyring(tuple(key.api_key() for key in issued)))


def write_keyring(path: Path, *issued: IssuedKey) -> Path:
    path.write_text(keyring_text(*issued), encoding="utf-8")
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
