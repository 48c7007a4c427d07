"""The contract stage's keyring: the fuzzer (and the suite's ownership tests) get two clients."""

from __future__ import annotations

from pathlib import Path

from devtools import contract, keys


def test_every_target_gets_keys_of_two_clients_with_every_scope(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    issued = contract.write_contract_keyring(path)
    keyring = keys.parse_keyring(path.read_text(), str(path))
    by_id = {key.id: key for key in keyring.keys}
    env = contract.suite_env("http://inbox", issued)
    first, second = (by_id[env[name].split(".", 1)[0]]
                     for name in ("CONTRACT_API_KEY", "CONTRACT_API_KEY_B"))
    assert first.client != second.client
    for key in (first, second):
        assert set(key.scopes) == set(keys.SCOPES) and not key.revoked
    assert keys.digest(env["CONTRACT_API_KEY_B"].split(".", 1)[1]) == second.secret_sha256
