"""`./dev keys create NAME | list | revoke ID`: the API keyring (docs/api.md, API keys).

The keyring is one JSON document, `{"version": 1, "keys": [...]}`, kept either in a file
(`KEYRING_FILE`, else `.dev/keyring.json`) or, with `--secret-arn ARN`, in an AWS Secrets Manager
secret (its SecretString), which is what production reads. Only a secret's SHA-256 is stored: the
key `<id>.<secret>` is printed once, on the last line of `create`'s output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

from devtools.processes import REPO_ROOT

SCOPES = ("send", "check", "read", "cancel")
DEFAULT_FILE = REPO_ROOT / ".dev" / "keyring.json"
KEY_ID = re.compile(r"^ak_[0-9a-f]{16}$")
CLIENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
CREATED_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
FIELDS = ("id", "client", "scopes", "created_at", "revoked", "secret_sha256")


class KeyringError(Exception):
    """A keyring that does not parse or breaks the rules; the message says where and what to do."""


@dataclass(frozen=True)
class ApiKey:
    id: str
    client: str
    scopes: tuple[str, ...]
    created_at: str
    revoked: bool
    secret_sha256: str


@dataclass(frozen=True)
class Keyring:
    keys: tuple[ApiKey, ...] = ()

    def with_key(self, key: ApiKey) -> Keyring:
        return Keyring((*self.keys, key))

    def revoked(self, key_id: str) -> Keyring:
        if key_id not in {k.id for k in self.keys}:
            known = ", ".join(k.id for k in self.keys) or "none"
            raise KeyringError(f"no key with id {key_id!r} in the keyring (ids: {known}); "
                               "see them with ./dev keys list")
        return Keyring(tuple(replace(k, revoked=True) if k.id == key_id else k
                             for k in self.keys))

    def active(self) -> list[ApiKey]:
        return [k for k in self.keys if not k.revoked]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_key(client: str, scopes: Iterable[str] = SCOPES) -> tuple[ApiKey, str]:
    """A fresh key for `client` and the key string `<id>.<secret>` (the only time it exists)."""
    scopes = parse_scopes(",".join(scopes))
    if not CLIENT.match(client):
        raise KeyringError(f"client {client!r} is not 1-64 characters of A-Z a-z 0-9 _ -; "
                           "choose another NAME or --client")
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    created = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    key = ApiKey(id="ak_" + secrets.token_hex(8), client=client, scopes=scopes,
                 created_at=created, revoked=False, secret_sha256=digest(secret))
    return key, f"{key.id}.{secret}"


def entry_for(token: str, client: str, scopes: Iterable[str] = SCOPES) -> ApiKey:
    """The keyring entry of a key fixed in advance: a throwaway test stack's constant key (like
    its pepper, not a secret), so that a suite can send it without being handed it."""
    key_id, _, secret = token.partition(".")
    made, _ = new_key(client, scopes)
    return replace(made, id=key_id, secret_sha256=digest(secret))


def parse_scopes(text: str) -> tuple[str, ...]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in SCOPES]
    if unknown or not names:
        raise KeyringError(f"unknown scope(s) {', '.join(unknown) or '(none given)'}: "
                           f"--scopes takes a comma-separated subset of {','.join(SCOPES)}")
    return tuple(dict.fromkeys(names))


# --- the document ---------------------------------------------------------------------------
def parse_keyring(text: str, source: str) -> Keyring:
    """The keyring in `text` (from `source`, named in errors), every rule checked."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise KeyringError(f"{source}: not JSON ({error}); fix or remove it") from None
    if not isinstance(document, dict) or document.get("version") != 1:
        raise KeyringError(f'{source}: expected {{"version": 1, "keys": [...]}}')
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise KeyringError(f"{source}: 'keys' must be a list")
    keys = [_entry(entry, f"{source}: keys[{index}]") for index, entry in enumerate(entries)]
    ids = [k.id for k in keys]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise KeyringError(f"{source}: key id(s) {', '.join(twice)} appear more than once")
    return Keyring(tuple(keys))


def _entry(entry: Any, where: str) -> ApiKey:
    if not isinstance(entry, dict):
        raise KeyringError(f"{where}: must be an object with {', '.join(FIELDS)}")
    where = f"{where} ({entry['id']})" if isinstance(entry.get("id"), str) else where
    missing = [f for f in FIELDS if f not in entry]
    if missing:
        raise KeyringError(f"{where}: missing field(s) {', '.join(missing)}")
    checks: dict[str, tuple[bool, str]] = {
        "id": (isinstance(entry["id"], str) and bool(KEY_ID.match(entry["id"])),
               "'ak_' and 16 lowercase hex digits"),
        "client": (isinstance(entry["client"], str) and bool(CLIENT.match(entry["client"])),
                   "1-64 characters of A-Z a-z 0-9 _ -"),
        "scopes": (isinstance(entry["scopes"], list) and bool(entry["scopes"])
                   and all(s in SCOPES for s in entry["scopes"]),
                   f"a non-empty list of {', '.join(SCOPES)}"),
        "created_at": (isinstance(entry["created_at"], str)
                       and bool(CREATED_AT.match(entry["created_at"])),
                       "a UTC time like 2026-12-01T20:00:00.000Z"),
        "revoked": (isinstance(entry["revoked"], bool), "true or false"),
        "secret_sha256": (isinstance(entry["secret_sha256"], str)
                          and bool(SHA256_HEX.match(entry["secret_sha256"])),
                          "64 lowercase hex digits"),
    }
    for name, (ok, expected) in checks.items():
        if not ok:
            raise KeyringError(f"{where}: field {name!r} must be {expected}")
    return ApiKey(id=entry["id"], client=entry["client"], scopes=tuple(entry["scopes"]),
                  created_at=entry["created_at"], revoked=entry["revoked"],
                  secret_sha256=entry["secret_sha256"])


def dump_keyring(keyring: Keyring) -> str:
    keys = [{**asdict(k), "scopes": list(k.scopes)} for k in keyring.keys]
    return json.dumps({"version": 1, "keys": keys}, indent=2) + "\n"


# --- where it is kept -----------------------------------------------------------------------
class Store(Protocol):
    @property
    def name(self) -> str: ...

    def load(self) -> Keyring: ...

    def save(self, keyring: Keyring) -> None: ...


def keyring_file() -> Path:
    """`KEYRING_FILE`, else the development default (the same for `./dev keys` and `./dev run`)."""
    return Path(os.environ.get("KEYRING_FILE") or DEFAULT_FILE)


@dataclass(frozen=True)
class FileStore:
    path: Path

    @property
    def name(self) -> str:
        return str(self.path)

    def load(self) -> Keyring:
        if not self.path.exists():
            return Keyring()
        return parse_keyring(self.path.read_text(encoding="utf-8"), self.name)

    def save(self, keyring: Keyring) -> None:
        write_keyring(self.path, keyring)


def write_keyring(path: Path, keyring: Keyring) -> None:
    """Atomically (a temporary file beside it, then rename), readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(dump_keyring(keyring))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class SecretsClient(Protocol):
    """The two calls of boto3's secretsmanager client used here."""

    def get_secret_value(self, *, SecretId: str) -> dict[str, Any]: ...

    def put_secret_value(self, *, SecretId: str, SecretString: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SecretStore:
    arn: str
    client: SecretsClient

    @property
    def name(self) -> str:
        return self.arn

    def load(self) -> Keyring:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            value = self.client.get_secret_value(SecretId=self.arn)
        except (BotoCoreError, ClientError) as error:
            raise KeyringError(f"cannot read the secret {self.arn}: {error}; check the ARN, "
                               "the region (AWS_REGION) and your AWS credentials") from None
        return parse_keyring(str(value.get("SecretString", "")), self.arn)

    def save(self, keyring: Keyring) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_secret_value(SecretId=self.arn, SecretString=dump_keyring(keyring))
        except (BotoCoreError, ClientError) as error:
            raise KeyringError(f"cannot write the secret {self.arn}: {error}; the caller needs "
                               "secretsmanager:PutSecretValue on it") from None


def secrets_client() -> SecretsClient:
    import boto3  # only with --secret-arn: boto3 is slow to import

    return cast(SecretsClient, boto3.client("secretsmanager"))


# --- the command ----------------------------------------------------------------------------
def create(store: Store, name: str, scopes: str, client: str | None) -> list[str]:
    keyring = store.load()
    key, token = new_key(client or name, parse_scopes(scopes))
    store.save(keyring.with_key(key))
    return [f"created key {key.id} in {store.name}",
            f"  client: {key.client}", f"  scopes: {','.join(key.scopes)}",
            "the key (shown once; send it as 'Authorization: Bearer <key>'):", token]


def listing(store: Store) -> list[str]:
    keyring = store.load()
    if not keyring.keys:
        return [f"no keys in {store.name}; add one with ./dev keys create NAME"]
    rows = [("id", "client", "scopes", "created_at", "revoked")]
    rows += [(k.id, k.client, ",".join(k.scopes), k.created_at, "yes" if k.revoked else "no")
             for k in keyring.keys]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]


def revoke(store: Store, key_id: str) -> list[str]:
    store.save(store.load().revoked(key_id))
    return [f"revoked key {key_id} in {store.name} (servers drop it within 60 s)"]


def main(argv: Sequence[str], client: SecretsClient | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev keys", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--secret-arn", default=None,
                        help="act on this Secrets Manager secret instead of the file")
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("create", help="add a key; its last output line is the key")
    made.add_argument("name", help="what the key is for; also the client unless --client")
    made.add_argument("--scopes", default=",".join(SCOPES),
                      help=f"comma-separated subset of {','.join(SCOPES)} (default: all)")
    made.add_argument("--client", default=None, help="the client the key belongs to")
    commands.add_parser("list", help="the keys (no secrets)")
    gone = commands.add_parser("revoke", help="revoke a key by its id")
    gone.add_argument("id")
    args = parser.parse_args(argv)
    store: Store = (SecretStore(args.secret_arn, client or secrets_client()) if args.secret_arn
                    else FileStore(keyring_file()))
    try:
        if args.command == "create":
            lines = create(store, args.name, args.scopes, args.client)
        elif args.command == "list":
            lines = listing(store)
        else:
            lines = revoke(store, args.id)
    except KeyringError as error:
        print(f"dev keys: {error}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
