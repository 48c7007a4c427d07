"""API keys (docs/api.md "Authentication", "The keyring"): the keyring document, its sources, and
the check of a presented key.

The keyring is read at start (a bad one refuses to start) and looked at again at most every
KEYRING_RELOAD_SECONDS: a file when its mtime or size changed, a Secrets Manager secret when its
VersionId changed. A bad reload keeps the keyring in use and logs an error.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from hmac import compare_digest
from typing import Any, Protocol

logger = logging.getLogger("monolith.api_keys")

SCOPES = ("send", "check", "read", "cancel")
KEY_ID = re.compile(r"ak_[0-9a-f]{16}")
CLIENT = re.compile(r"[A-Za-z0-9_-]{1,64}")
SECRET_SHA256 = re.compile(r"[0-9a-f]{64}")
KEYS = ("id", "client", "scopes", "created_at", "revoked", "secret_sha256")
# Compared against when the id is unknown or revoked: the same work as for a known key.
DUMMY_DIGEST = bytes(32)


class KeyringError(ValueError):
    """The keyring does not parse or breaks a rule; the message names the entry and the field."""


@dataclass(frozen=True)
class ApiKey:
    id: str
    client: str
    scopes: frozenset[str]
    revoked: bool
    secret_sha256: bytes


def parse_keyring(text: str) -> dict[str, ApiKey]:
    """The keys of a keyring document by id; KeyringError naming the entry and field otherwise."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise KeyringError(f"keyring is not JSON: {error}") from None
    if not isinstance(document, dict) or set(document) != {"version", "keys"}:
        raise KeyringError('keyring must be an object with exactly "version" and "keys"')
    if document["version"] != 1 or isinstance(document["version"], bool):
        raise KeyringError(f"keyring version: {document['version']!r} is not 1")
    if not isinstance(document["keys"], list):
        raise KeyringError("keyring keys: must be a list")
    keys: dict[str, ApiKey] = {}
    for index, entry in enumerate(document["keys"]):
        key = _parse_entry(index, entry)
        if key.id in keys:
            raise KeyringError(f"keys[{index}] id: {key.id!r} appears twice")
        keys[key.id] = key
    return keys


def _parse_entry(index: int, entry: Any) -> ApiKey:
    where = f"keys[{index}]"
    if not isinstance(entry, dict):
        raise KeyringError(f"{where}: must be an object")
    missing = [name for name in KEYS if name not in entry]
    unknown = sorted(set(entry) - set(KEYS))
    if missing or unknown:
        name = (missing or unknown)[0]
        raise KeyringError(f"{where} {name}: {'missing' if missing else 'unknown member'}")
    key_id = entry["id"]
    if not isinstance(key_id, str) or not KEY_ID.fullmatch(key_id):
        raise KeyringError(f"{where} id: {key_id!r} is not ak_ and 16 lowercase hex digits")
    where = f"{where} ({key_id})"

    def field(name: str, valid: Callable[[Any], bool], rule: str) -> Any:
        value = entry[name]
        if not valid(value):
            raise KeyringError(f"{where} {name}: {value!r} {rule}")
        return value

    client = field("client", lambda v: isinstance(v, str) and CLIENT.fullmatch(v) is not None,
                   "is not 1-64 characters of A-Z a-z 0-9 _ -")
    scopes = field(
        "scopes",
        lambda v: isinstance(v, list) and bool(v) and len(set(v)) == len(v)
        and all(isinstance(s, str) and s in SCOPES for s in v),
        f"is not a non-empty list of distinct scopes among {', '.join(SCOPES)}",
    )
    field("created_at", lambda v: isinstance(v, str) and _is_time(v), "is not an RFC 3339 time")
    revoked = field("revoked", lambda v: isinstance(v, bool), "is not true or false")
    digest = field("secret_sha256",
                   lambda v: isinstance(v, str) and SECRET_SHA256.fullmatch(v) is not None,
                   "is not 64 lowercase hex digits")
    return ApiKey(key_id, client, frozenset(scopes), revoked, bytes.fromhex(digest))


def _is_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return "T" in text


class KeyringSource(Protocol):
    name: str

    def changed_text(self) -> str | None:
        """The document when it changed since the last call (the first call: always), else None."""


class KeyringFile:
    def __init__(self, path: str) -> None:
        self.path = path
        self.name = f"KEYRING_FILE={path}"
        self._seen: tuple[int, int] | None = None

    def changed_text(self) -> str | None:
        status = os.stat(self.path)
        seen = (status.st_mtime_ns, status.st_size)
        if seen == self._seen:
            return None
        with open(self.path, encoding="utf-8") as file:
            text = file.read()
        self._seen = seen
        return text


class SecretsClient(Protocol):
    def get_secret_value(self, *, SecretId: str) -> Mapping[str, Any]: ...


class KeyringSecret:
    def __init__(self, arn: str, client: SecretsClient) -> None:
        self.arn = arn
        self.name = f"KEYRING_SECRET_ARN={arn}"
        self.client = client
        self._version: str | None = None

    def changed_text(self) -> str | None:
        found = self.client.get_secret_value(SecretId=self.arn)
        if found["VersionId"] == self._version:
            return None
        self._version = str(found["VersionId"])
        return str(found["SecretString"])


class ApiKeyring:
    """The keys in use, reloaded from their source at most every `reload_seconds`."""

    def __init__(
        self, source: KeyringSource | None, reload_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.reload_seconds = reload_seconds
        self.clock = clock
        self.keys: dict[str, ApiKey] = {}
        # gthread workers: one thread looks at the source while the others go on with the keys
        # in use (`keys` is replaced whole, never changed in place).
        self._reloading = threading.Lock()
        if source is None:
            logger.warning("no keyring (KEYRING_FILE or KEYRING_SECRET_ARN): every API request "
                           "is answered 401; create a key with `./dev keys create NAME`")
        else:
            text = source.changed_text()
            assert text is not None  # the first look always reads
            try:
                self.keys = parse_keyring(text)
            except KeyringError as error:
                raise KeyringError(f"{source.name}: {error}") from None
        self._next_look = clock() + reload_seconds

    def active_keys(self) -> int:
        return sum(not key.revoked for key in self.keys.values())

    def reload_if_due(self) -> None:
        now = self.clock()
        if self.source is None or now < self._next_look:
            return
        if not self._reloading.acquire(blocking=False):
            return  # another thread is looking right now
        try:
            if now < self._next_look:
                return  # another thread looked while this one waited for the lock
            self._next_look = now + self.reload_seconds
            text = self.source.changed_text()
            if text is not None:
                self.keys = parse_keyring(text)
                logger.info("keyring reloaded from %s: %d keys", self.source.name, len(self.keys))
        except Exception as error:  # a bad reload must not take the API down: keep the old keys
            logger.error("keyring reload from %s refused, keeping the keys in use: %s",
                         self.source.name, error)
        finally:
            self._reloading.release()

    def authenticate(self, key_id: str, secret: str) -> ApiKey | None:
        """The key when `secret` is its secret and it is not revoked. An unknown or revoked id
        costs the same hash and compare, so timing does not tell which ids exist."""
        key = self.keys.get(key_id)
        expected = key.secret_sha256 if key is not None and not key.revoked else DUMMY_DIGEST
        matches = compare_digest(sha256(secret.encode("utf-8")).digest(), expected)
        return key if matches and expected is not DUMMY_DIGEST else None
