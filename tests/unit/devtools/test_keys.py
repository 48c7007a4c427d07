"""`./dev keys`: the keyring written as docs/api.md describes it, refused with a useful message
when it breaks a rule, and the same commands against a Secrets Manager secret (moto's fake)."""

from __future__ import annotations

import hashlib
import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from moto import mock_aws

from devtools import keys

KEY = re.compile(r"^(ak_[0-9a-f]{16})\.([A-Za-z0-9_-]{43})$")


@pytest.fixture
def keyring_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "nested" / "keyring.json"
    monkeypatch.setenv("KEYRING_FILE", str(path))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str,
        client: keys.SecretsClient | None = None) -> tuple[int, list[str], str]:
    code = keys.main(argv, client=client)
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_create_prints_the_key_last_and_stores_only_its_digest(
        keyring_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run(capsys, "create", "shop", "--scopes", "send,check")
    assert code == 0
    match = KEY.match(lines[-1])
    assert match, lines
    key_id, secret = match.groups()
    document = json.loads(keyring_path.read_text())
    [entry] = document["keys"]
    assert document["version"] == 1
    assert entry["id"] == key_id and entry["client"] == "shop"
    assert entry["scopes"] == ["send", "check"] and entry["revoked"] is False
    assert entry["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in keyring_path.read_text()
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", entry["created_at"])
    assert stat.S_IMODE(keyring_path.stat().st_mode) == 0o600
    assert [p.name for p in keyring_path.parent.iterdir()] == ["keyring.json"]  # no temp left


def test_client_defaults_to_the_name_and_keys_accumulate(
        keyring_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "create", "shop")
    run(capsys, "create", "rotation", "--client", "shop")
    entries = json.loads(keyring_path.read_text())["keys"]
    assert [e["client"] for e in entries] == ["shop", "shop"]
    assert entries[0]["scopes"] == ["send", "check", "read", "cancel"]
    assert entries[0]["id"] != entries[1]["id"]


def test_list_shows_no_secret_and_revoke_marks_the_key(
        keyring_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, created, _ = run(capsys, "create", "shop")
    key_id, secret = created[-1].split(".", 1)
    assert run(capsys, "revoke", key_id)[0] == 0
    code, lines, _ = run(capsys, "list")
    assert code == 0
    assert lines[0].split() == ["id", "client", "scopes", "created_at", "revoked"]
    assert lines[1].split()[:3] == [key_id, "shop", "send,check,read,cancel"]
    assert lines[1].split()[-1] == "yes"
    digest = hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in "\n".join(lines) and digest not in "\n".join(lines)
    assert json.loads(keyring_path.read_text())["keys"][0]["revoked"] is True


@pytest.mark.usefixtures("keyring_path")
def test_errors_say_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "revoke", "ak_0123456789abcdef")
    assert code == 1 and "no key with id 'ak_0123456789abcdef'" in err and "keys list" in err
    code, _, err = run(capsys, "create", "shop", "--scopes", "send,write")
    assert code == 1 and "unknown scope(s) write" in err and "send,check,read,cancel" in err
    code, _, err = run(capsys, "create", "shop", "--client", "bad client")
    assert code == 1 and "'bad client'" in err


def test_a_keyring_that_does_not_parse_is_refused_naming_the_file(
        keyring_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keyring_path.parent.mkdir(parents=True)
    keyring_path.write_text("{not json")
    code, _, err = run(capsys, "create", "shop")
    assert code == 1 and str(keyring_path) in err and "not JSON" in err
    assert keyring_path.read_text() == "{not json"  # left as it was


GOOD_ENTRY: dict[str, Any] = {
    "id": "ak_3f9c0d6e1b2a4c58", "client": "acme", "scopes": ["send"],
    "created_at": "2026-12-01T20:00:00.000Z", "revoked": False, "secret_sha256": "0" * 64,
}


@pytest.mark.parametrize(("field", "value"), [
    ("id", "ak_3F9C0D6E1B2A4C58"), ("id", "ak_3f9c.0d6e1b2a4c5"), ("client", ""),
    ("client", "x" * 65), ("scopes", []), ("scopes", ["write"]), ("created_at", "yesterday"),
    ("revoked", "no"), ("secret_sha256", "A" * 64),
])
def test_each_rule_is_checked_and_the_entry_and_field_named(field: str, value: Any) -> None:
    text = json.dumps({"version": 1, "keys": [GOOD_ENTRY, {**GOOD_ENTRY, "id": "ak_" + "1" * 16,
                                                           field: value}]})
    with pytest.raises(keys.KeyringError, match=rf"keys\[1\].*field '{field}'"):
        keys.parse_keyring(text, "ring.json")


def test_a_good_document_parses_and_duplicate_ids_do_not() -> None:
    good = keys.parse_keyring(json.dumps({"version": 1, "keys": [GOOD_ENTRY]}), "ring.json")
    assert [k.id for k in good.keys] == ["ak_3f9c0d6e1b2a4c58"]
    with pytest.raises(keys.KeyringError, match="more than once"):
        keys.parse_keyring(json.dumps({"version": 1, "keys": [GOOD_ENTRY, GOOD_ENTRY]}), "r")
    with pytest.raises(keys.KeyringError, match="missing field"):
        keys.parse_keyring(json.dumps({"version": 1, "keys": [{"id": "ak_" + "2" * 16}]}), "r")


@pytest.fixture
def secret() -> Iterator[tuple[str, keys.SecretsClient]]:
    """A keyring secret in moto's fake Secrets Manager (no AWS involved)."""
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        arn = client.create_secret(Name="keyring", SecretString='{"version": 1, "keys": []}')
        yield str(arn["ARN"]), cast(keys.SecretsClient, client)


def test_the_same_commands_work_on_a_secrets_manager_secret(
        secret: tuple[str, keys.SecretsClient], keyring_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    arn, client = secret
    code, lines, _ = run(capsys, "--secret-arn", arn, "create", "shop", client=client)
    assert code == 0
    key_id, key_secret = lines[-1].split(".", 1)
    stored = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
    assert stored["keys"][0]["id"] == key_id
    assert stored["keys"][0]["secret_sha256"] == hashlib.sha256(key_secret.encode()).hexdigest()
    assert run(capsys, "--secret-arn", arn, "revoke", key_id, client=client)[0] == 0
    _, listed, _ = run(capsys, "--secret-arn", arn, "list", client=client)
    assert listed[1].split()[0] == key_id and listed[1].split()[-1] == "yes"
    assert not keyring_path.exists()  # the file was never touched


def test_an_unknown_secret_is_a_clear_error(
        secret: tuple[str, keys.SecretsClient], capsys: pytest.CaptureFixture[str]) -> None:
    _, client = secret
    code, _, err = run(capsys, "--secret-arn", "missing", "list", client=client)
    assert code == 1 and "cannot read the secret missing" in err and "credentials" in err
