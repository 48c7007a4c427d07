"""The scripts' own packed-record codec (monolith/lua/common.lua) against the golden vectors, run
inside the real Redis: what the Lua reads and writes is byte for byte the contract's string."""

from __future__ import annotations

import json
from pathlib import Path

import redis

from monolith.store import LUA_DIR

VECTORS = json.loads(
    (Path(__file__).resolve().parents[3] / "docs" / "storage-contract-vectors.json").read_text())

PROBE = """
local r = unpack3(ARGV[2])
return {pack3(r), cjson.encode(r)}
"""


def test_lua_reads_and_rewrites_every_vector_record_byte_for_byte(
    redis_client: redis.Redis,
) -> None:
    script = (LUA_DIR / "common.lua").read_text() + PROBE
    for case in VECTORS["v3"]["records"]:
        packed_text, decoded = redis_client.eval(script, 0, "", case["packed"])
        assert packed_text == case["packed"]
        fields = json.loads(decoded)
        expected = case["fields"]
        assert {name: fields[name] for name in ("rand", "to", "channel", "locale", "reference",
                                                "status", "code_sealed", "send_attempts",
                                                "check_attempts", "created_at", "ttl")} == {
            name: expected[name] for name in ("rand", "to", "channel", "locale", "reference",
                                              "status", "code_sealed", "send_attempts",
                                              "check_attempts", "created_at", "ttl")}
        assert fields["code_mac"] == expected["code_mac16"]
        assert fields["last_sent_at"] - fields["created_at"] == expected["sent_offset"]
        assert fields["expires_at"] == expected["created_at"] + expected["ttl"]
