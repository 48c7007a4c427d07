"""The services' keyring: parsing (errors name the entry and field), reloads from a file and from
Secrets Manager, the constant work for unknown ids, and production's refusals."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from kit.settings import SettingsError
from services.verification.settings import Settings
from services.web.api_keys import (
    ApiKeyring,
    KeyringError,
    KeyringFile,
    KeyringSecret,
    parse_keyring,
)
from services.web.factory import build_keyring
from tests.support.api_keys import IssuedKey, keyring_text, new_key, write_keyring

PEPPER = "a-production-pepper-of-32-bytes-or-more"


def entry_with(**changes: Any) -> str:
    entry = {**new_key().entry(), **changes}
    return json.dumps({"version": 1, "keys": [new_key().entry(), entry]})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "keyring is not JSON"),
        ('{"version": 2, "keys": []}', "keyring version: 2 is not 1"),
        ('{"version": 1}', 'exactly "version" and "keys"'),
        (entry_with(id="ak_XYZ"), r"keys\[1\] id: 'ak_XYZ' is not ak_ and 16 lowercase hex"),
        (entry_with(client=""), r"keys\[1\] \(ak_[0-9a-f]{16}\) client: '' is not 1-64"),
        (entry_with(client="a.b"), r"keys\[1\] \(ak_[0-9a-f]{16}\) client: 'a.b'"),
        (entry_with(scopes=[]), r"keys\[1\] \(ak_[0-9a-f]{16}\) scopes: \[\] is not a non-empty"),
        (entry_with(scopes=["send", "write"]), r"keys\[1\] \(ak_\w+\) scopes: \['send', 'write'\]"),
        (entry_with(scopes=["send", "send"]), r"keys\[1\] \(ak_\w+\) scopes:"),
        (entry_with(revoked="no"), r"keys\[1\] \(ak_\w+\) revoked: 'no' is not true or false"),
        (entry_with(created_at="yesterday"), r"keys\[1\] \(ak_\w+\) created_at: 'yesterday'"),
        (entry_with(secret_sha256="AB" * 32), r"keys\[1\] \(ak_\w+\) secret_sha256: 'ABAB"),
        (entry_with(owner="x"), r"keys\[1\] owner: unknown member"),
        (json.dumps({"version": 1, "keys": [{"id": "ak_0123456789abcdef"}]}),
         r"keys\[0\] client: missing"),
    ],
)
def test_a_bad_keyring_is_refused_naming_the_entry_and_field(text: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message):
        parse_keyring(text)


def test_a_repeated_id_is_refused() -> None:
    key = new_key()
    with pytest.raises(KeyringError, match=rf"keys\[1\] id: '{key.id}' appears twice"):
        parse_keyring(keyring_text(key, key))


def test_a_valid_key_authenticates_and_nothing_else_does(tmp_path: Path) -> None:
    key, revoked = new_key("acme", ("send",)), new_key("acme", revoked=True)
    keyring = ApiKeyring(KeyringFile(str(write_keyring(tmp_path / "k.json", key, revoked))))
    found = keyring.authenticate(key.id, key.secret)
    assert found is not None and (found.client, found.scopes) == ("acme", frozenset({"send"}))
    assert keyring.authenticate(key.id, key.secret + "x") is None
    assert keyring.authenticate(revoked.id, revoked.secret) is None
    assert keyring.authenticate("ak_0000000000000000", key.secret) is None
    assert keyring.active_keys() == 1


def test_an_unknown_or_revoked_id_costs_the_same_hash_and_compare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, revoked = new_key(), new_key(revoked=True)
    keyring = ApiKeyring(KeyringFile(str(write_keyring(tmp_path / "k.json", key, revoked))))
    calls: list[str] = []

    def counting_sha256(data: bytes) -> Any:
        calls.append("sha256")
        return hashlib.sha256(data)

    def counting_compare(a: bytes, b: bytes) -> bool:
        calls.append("compare")
        return hmac.compare_digest(a, b)

    monkeypatch.setattr("services.web.api_keys.sha256", counting_sha256)
    monkeypatch.setattr("services.web.api_keys.compare_digest", counting_compare)
    for key_id, secret in [("ak_0000000000000000", key.secret), (revoked.id, revoked.secret),
                           (key.id, "wrong")]:
        calls.clear()
        assert keyring.authenticate(key_id, secret) is None
        assert calls == ["sha256", "compare"], key_id


def test_a_touched_file_brings_a_new_key_and_a_revocation(tmp_path: Path) -> None:
    old, added = new_key("old"), new_key("new")
    path = write_keyring(tmp_path / "k.json", old)
    keyring = ApiKeyring(KeyringFile(str(path)))
    keyring.reload()
    assert keyring.authenticate(old.id, old.secret) is not None  # unchanged file: same keys
    write_keyring(path, IssuedKey(old.id, old.secret, old.client, revoked=True), added)
    os.utime(path, ns=(1, 1))  # a new mtime even if the write fell in the same clock tick
    keyring.reload()
    assert keyring.authenticate(added.id, added.secret) is not None
    assert keyring.authenticate(old.id, old.secret) is None


def test_a_bad_reload_keeps_the_keys_in_use_and_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = new_key()
    path = write_keyring(tmp_path / "k.json", key)
    keyring = ApiKeyring(KeyringFile(str(path)))
    path.write_text(entry_with(id="nope"))
    with caplog.at_level(logging.ERROR, "services.web.api_keys"):
        keyring.reload()
    assert keyring.authenticate(key.id, key.secret) is not None
    [error] = caplog.records
    assert "keeping the keys in use" in error.getMessage() and "keys[1] id" in error.getMessage()
    assert key.secret not in error.getMessage()


def test_a_bad_keyring_at_start_names_its_source(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text(entry_with(scopes=["delete"]))
    with pytest.raises(KeyringError, match=rf"KEYRING_FILE={path}: keys\[1\] \(ak_\w+\) scopes"):
        ApiKeyring(KeyringFile(str(path)))


def test_secrets_manager_source_reloads_on_a_new_version() -> None:
    # moto fakes Secrets Manager in-process: AWS itself cannot be reached from here.
    key, added = new_key(), new_key("second")
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        arn = client.create_secret(Name="keyring", SecretString=keyring_text(key))["ARN"]
        # The keyring as the app builds it (its own client, in the ARN's region).
        keyring = build_keyring(Settings(keyring_secret_arn=arn))
        assert keyring.authenticate(key.id, key.secret) is not None
        source = keyring.source
        assert isinstance(source, KeyringSecret)
        assert source.changed_text() is None  # the same VersionId: nothing read again
        client.put_secret_value(SecretId=arn, SecretString=keyring_text(added))
        keyring.reload()
    assert keyring.authenticate(added.id, added.secret) is not None
    assert keyring.authenticate(key.id, key.secret) is None


def test_development_without_a_keyring_refuses_every_key(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "services.web.api_keys"):
        keyring = build_keyring(Settings())
    assert keyring.authenticate("ak_0000000000000000", "x") is None
    assert "./dev keys create NAME" in caplog.text


def test_production_refuses_no_keyring_source() -> None:
    with pytest.raises(SettingsError, match="requires a keyring: set KEYRING_SECRET_ARN"):
        build_keyring(Settings(app_env="production", code_pepper=PEPPER))


@pytest.mark.parametrize("keys", [(), (new_key(revoked=True),)])
def test_production_refuses_a_keyring_without_a_usable_key(
    tmp_path: Path, keys: tuple[IssuedKey, ...]
) -> None:
    path = write_keyring(tmp_path / "k.json", *keys)
    settings = Settings(app_env="production", code_pepper=PEPPER, keyring_file=str(path))
    with pytest.raises(SettingsError, match="requires a key that is not revoked"):
        build_keyring(settings)
    write_keyring(path, *keys, new_key())
    assert build_keyring(settings).active_keys() == 1
