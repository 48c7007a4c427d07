"""The SMS-pumping guards of docs/api.md on real Redis, with small settings: the conversion guard,
prefix velocity and the circuit breaker, their counters (docs/storage-contract.md) and one round
trip per send and per check."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from redis.connection import Connection, ConnectionPool

from devtools.redis_server import cluster_mode
from monolith import keys
from monolith.crypto import Keyring
from monolith.extensions import EXTENSION_KEY, Backend
from monolith.problems import CATALOGUE

SEND = "/api/verifications"
CHECK = "/api/verification-checks"
PREFIX = "+1415555"  # one number range: PREFIX + 4 digits
OTHER_PREFIX = "+1415556"
EMAIL = "someone@example.com"
VECTORS = json.loads(
    (Path(__file__).resolve().parents[3] / "docs" / "storage-contract-vectors.json").read_text()
)


def number(n: int, prefix: str = PREFIX) -> str:
    return f"{prefix}{n:04d}"


def send(client: FlaskClient, to: str, channel: str = "sms") -> Any:
    return client.post(SEND, json={"to": to, "channel": channel})


def check(client: FlaskClient, code: str, **by: str) -> Any:
    return client.post(CHECK, json={"code": code, **by})


def assert_refused(response: Any, code: str, retry_after: range) -> None:
    assert response.status_code == 429, response.get_json()
    body = response.get_json()
    _status, title, detail = CATALOGUE[code]
    assert (body["code"], body["title"], body["detail"]) == (code, title, detail)
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) in retry_after


def tally(redis_client: redis.Redis, keyring: Keyring, to: str) -> dict[str, str]:
    fields: dict[str, str] = redis_client.hgetall(f"vfy:fg:{keyring.prefix_hash(to)}")  # type: ignore[assignment]
    return fields


def block_remaining_ms(redis_client: redis.Redis, keyring: Keyring, to: str) -> int:
    """How long the prefix's block lasts, as version 3 keeps it (both modes): the tally's `block`
    field, its end in Redis time, minus now; the tally key must live at least that long."""
    tally_key = f"vfy:fg:{keyring.prefix_hash(to)}"
    seconds, micros = redis_client.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    remaining = int(tally(redis_client, keyring, to).get("block", 0)) - now_ms
    assert int(redis_client.pttl(tally_key)) >= remaining
    return remaining


def tally_sums(fields: dict[str, str]) -> tuple[int, int]:
    """(created, approved) over every field."""
    return (sum(int(v) for k, v in fields.items() if k.startswith("s:")),
            sum(int(v) for k, v in fields.items() if k.startswith("a:")))


@pytest.fixture
def guarded(make_app: Callable[..., Flask]) -> Callable[..., FlaskClient]:
    """A client of an app whose guards are small; the others far out of reach unless given."""

    def build(**guards: int) -> FlaskClient:
        settings: dict[str, int] = {
            "sms_prefix_limit": 1000, "prefix_guard_min_sms": 1000, "sms_global_limit": 1000,
            "sms_prefix_window_seconds": 60, "sms_global_window_seconds": 30,
            "prefix_guard_block_seconds": 120, "prefix_guard_window_seconds": 240,
            "prefix_guard_min_approved_percent": 50, **guards,
        }
        return make_app(**settings).test_client()

    return build


def test_prefix_velocity_refuses_the_prefix_only(
    guarded: Callable[..., FlaskClient], redis_client: redis.Redis, keyring: Keyring
) -> None:
    client = guarded(sms_prefix_limit=3)
    for n in range(3):
        assert send(client, number(n)).status_code == 201
    refused = send(client, number(3))
    assert_refused(refused, "prefix_rate_limited", range(59, 61))
    assert send(client, number(3, OTHER_PREFIX)).status_code == 201  # another prefix
    assert send(client, EMAIL, "email").status_code == 201  # an email passes no guard
    assert_refused(send(client, number(4)), "prefix_rate_limited", range(59, 61))
    prefix_key = f"vfy:rl:prefix:{keyring.prefix_hash(number(0))}"
    assert redis_client.get(prefix_key) == "3"  # refused sends count nothing
    assert 59_000 < redis_client.pttl(prefix_key) <= 60_000
    assert redis_client.get("vfy:rl:client:tests") == "5"
    assert redis_client.get("vfy:rl:sms") == "4"  # SMS only
    assert tally_sums(tally(redis_client, keyring, number(0))) == (3, 0)
    dest_key = keyring.dest_key("tests", keyring.dest_hash("sms", number(3)))
    assert not redis_client.exists(keys.v3_record("tests", dest_key))


def test_resends_count_in_prefix_velocity_and_are_refused_by_it(
    guarded: Callable[..., FlaskClient], redis_client: redis.Redis, keyring: Keyring
) -> None:
    client = guarded(sms_prefix_limit=3)
    vid = send(client, number(0)).get_json()["id"]
    assert [send(client, number(0)).status_code for _ in range(2)] == [200, 200]
    assert_refused(send(client, number(1)), "prefix_rate_limited", range(59, 61))
    assert_refused(send(client, number(0)), "prefix_rate_limited", range(59, 61))  # a resend
    assert client.get(f"{SEND}/{vid}").get_json()["send_attempts"] == 3
    # resends are no new verifications: the conversion guard tallied one
    assert tally_sums(tally(redis_client, keyring, number(0))) == (1, 0)


def test_a_prefix_whose_codes_are_not_entered_is_blocked_and_stays_blocked(
    guarded: Callable[..., FlaskClient], redis_client: redis.Redis, keyring: Keyring,
    outbox_codes: Callable[[str], list[str]],
) -> None:
    client = guarded(prefix_guard_min_sms=4)
    ids = [send(client, number(n)).get_json()["id"] for n in range(4)]
    block_key = f"vfy:fg:block:{keyring.prefix_hash(number(0))}"
    assert not redis_client.exists(block_key)
    assert "block" not in tally(redis_client, keyring, number(0))
    assert_refused(send(client, number(4)), "prefix_blocked", range(119, 121))
    assert 119_000 < block_remaining_ms(redis_client, keyring, number(0)) <= 120_000
    if not cluster_mode():  # where version-2 data can exist, version 2's block key as well
        assert 119_000 < redis_client.pttl(block_key) <= 120_000
    assert_refused(send(client, number(0)), "prefix_blocked", range(118, 121))  # a resend too
    assert send(client, number(0, OTHER_PREFIX)).status_code == 201
    assert send(client, EMAIL, "email").status_code == 201
    # approvals after the block do not lift it: it lasts its time
    for vid in ids:
        assert check(client, outbox_codes(vid)[0], verification_id=vid).status_code == 200
    assert tally_sums(tally(redis_client, keyring, number(0))) == (4, 4)
    assert_refused(send(client, number(5)), "prefix_blocked", range(118, 121))
    prefix_key = f"vfy:rl:prefix:{keyring.prefix_hash(number(0))}"
    assert redis_client.get(prefix_key) == "4"  # the refused sends counted nothing


def test_approvals_at_the_percentage_keep_the_prefix_open(
    guarded: Callable[..., FlaskClient], redis_client: redis.Redis, keyring: Keyring,
    outbox_codes: Callable[[str], list[str]],
) -> None:
    client = guarded(prefix_guard_min_sms=4, prefix_guard_min_approved_percent=50)
    ids = [send(client, number(n)).get_json()["id"] for n in range(4)]
    wrong = "111111" if outbox_codes(ids[0])[0] == "000000" else "000000"
    assert check(client, wrong, verification_id=ids[0]).get_json()["status"] == "pending"
    assert tally_sums(tally(redis_client, keyring, number(0))) == (4, 0)
    assert check(client, outbox_codes(ids[0])[0], verification_id=ids[0]).status_code == 200
    assert tally_sums(tally(redis_client, keyring, number(0))) == (4, 1)  # by id
    assert check(client, outbox_codes(ids[1])[0], to=number(1)).status_code == 200
    assert tally_sums(tally(redis_client, keyring, number(0))) == (4, 2)  # by to
    assert send(client, number(4)).status_code == 201  # 2 of 4 approved: 50 %, not below
    assert_refused(send(client, number(5)), "prefix_blocked", range(119, 121))  # 2 of 5


def test_the_conversion_guard_is_judged_before_prefix_velocity(
    guarded: Callable[..., FlaskClient],
) -> None:
    client = guarded(prefix_guard_min_sms=1, sms_prefix_limit=1)
    assert send(client, number(0)).status_code == 201
    assert_refused(send(client, number(1)), "prefix_blocked", range(119, 121))


def test_a_rate_limit_refuses_before_the_guards_judge(
    guarded: Callable[..., FlaskClient], redis_client: redis.Redis, keyring: Keyring
) -> None:
    client = guarded(prefix_guard_min_sms=1, dest_limit=1, resend_cooldown_seconds=0)
    assert send(client, number(0)).status_code == 201
    refused = send(client, number(0))  # a resend the destination limit refuses
    assert refused.status_code == 429 and refused.get_json()["code"] == "rate_limited"
    assert not redis_client.exists(f"vfy:fg:block:{keyring.prefix_hash(number(0))}")


def test_the_circuit_breaker_counts_every_sms(
    guarded: Callable[..., FlaskClient], redis_client: redis.Redis
) -> None:
    client = guarded(sms_global_limit=3)
    assert send(client, number(0)).status_code == 201
    assert send(client, number(0)).status_code == 200  # a resend counts
    assert send(client, number(0, OTHER_PREFIX)).status_code == 201
    assert_refused(send(client, number(1, "+1415557")), "sms_capacity_exceeded", range(29, 31))
    assert_refused(send(client, number(0)), "sms_capacity_exceeded", range(29, 31))
    assert send(client, EMAIL, "email").status_code == 201
    assert redis_client.get("vfy:rl:sms") == "3"
    assert 29_000 < redis_client.pttl("vfy:rl:sms") <= 30_000


def _redis_ms(redis_client: redis.Redis) -> int:
    seconds, micros = redis_client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def _current_bucket(redis_client: redis.Redis, bucket_ms: int) -> int:
    """The bucket of Redis' clock, not within half a second of its end (the send must see it)."""
    now = _redis_ms(redis_client)
    if bucket_ms - now % bucket_ms < 500:
        time.sleep((bucket_ms - now % bucket_ms) / 1000 + 0.05)
        now = _redis_ms(redis_client)
    return now // bucket_ms


@pytest.mark.parametrize(("age", "counted"), [(23, True), (24, False)])
def test_the_tally_counts_the_last_24_buckets(
    guarded: Callable[..., FlaskClient], redis_client: redis.Redis, keyring: Keyring,
    age: int, counted: bool,
) -> None:
    """A 240 s window: buckets of 10 s; `age` buckets back is in the window up to 23."""
    client = guarded(prefix_guard_min_sms=3, prefix_guard_window_seconds=240)
    bucket = _current_bucket(redis_client, 10_000)
    tally_key = f"vfy:fg:{keyring.prefix_hash(number(0))}"
    redis_client.hset(tally_key, f"s:{bucket - age}", 3)
    response = send(client, number(0))
    if counted:
        assert_refused(response, "prefix_blocked", range(119, 121))
        fields = redis_client.hgetall(tally_key)
        block_until = int(fields.pop(keys.TALLY_BLOCK_FIELD))  # v3: the block is a field
        assert fields == {f"s:{bucket - age}": "3"}
        assert 119_000 < block_until - _redis_ms(redis_client) <= 120_000
        assert 119_000 < redis_client.pttl(tally_key) <= 240_000
    else:
        assert response.status_code == 201
        assert redis_client.hgetall(tally_key) == {f"s:{bucket}": "1"}  # the dead field is gone
        assert 239_000 < redis_client.pttl(tally_key) <= 240_000


def test_approvals_are_tallied_in_the_bucket_they_happen(
    guarded: Callable[..., FlaskClient], redis_client: redis.Redis, keyring: Keyring,
    outbox_codes: Callable[[str], list[str]],
) -> None:
    client = guarded(prefix_guard_window_seconds=240)
    vid = send(client, number(0)).get_json()["id"]
    bucket = _current_bucket(redis_client, 10_000)
    assert check(client, outbox_codes(vid)[0], verification_id=vid).status_code == 200
    fields = tally(redis_client, keyring, number(0))
    assert fields[f"a:{bucket}"] == "1"
    assert 239_000 < redis_client.pttl(f"vfy:fg:{keyring.prefix_hash(number(0))}") <= 240_000


def test_the_keys_and_record_field_of_the_golden_vectors(
    make_app: Callable[..., Flask], redis_client: redis.Redis
) -> None:
    """Written with the vectors' pepper: the very key names and prefix_hash of the contract."""
    client = make_app(code_pepper=VECTORS["pepper"]).test_client()
    guards = VECTORS["sms_guards"]
    first, same_prefix = guards["prefixes"][0], guards["prefixes"][1]
    assert send(client, first["normalized_to"]).status_code == 201
    assert send(client, same_prefix["normalized_to"]).status_code == 201
    assert redis_client.get(first["prefix_limit_key"]) == "2"
    assert tally_sums(redis_client.hgetall(first["tally_key"])) == (2, 0)  # type: ignore[arg-type]
    assert redis_client.get(guards["global_key"]) == "2"
    assert not redis_client.exists(first["block_key"])
    assert send(client, EMAIL, "email").status_code == 201
    assert redis_client.get(guards["global_key"]) == "2"


WRITES: list[str] = []


class CountingConnection(Connection):
    """Records the first command name of every write to the socket: one write, one round trip."""

    def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        raw = command if isinstance(command, bytes | str) else b"".join(command)
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        WRITES.append(" ".join(text.split("\r\n")[2::2][:1]))
        super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]


def counting(app: Flask, redis_url: str) -> None:
    """The app's Redis client replaced by one on counting connections."""
    backend: Backend = app.extensions[EXTENSION_KEY]
    backend.redis.close()
    pool = ConnectionPool.from_url(redis_url, connection_class=CountingConnection,
                                   decode_responses=True)
    app.extensions[EXTENSION_KEY] = dataclasses.replace(
        backend, redis=redis.Redis(connection_pool=pool))


@pytest.mark.single_node("counts the round trips of a node's client; on a cluster a send is by "
                         "design the reserves in other slots and then the send script (contract "
                         "\"Cluster mode\"; tests/integration/monolith/test_cluster.py)")
def test_one_round_trip_per_send_and_check_with_the_guards(
    make_app: Callable[..., Flask], redis_url: str, redis_client: redis.Redis,
    outbox_codes: Callable[[str], list[str]],
) -> None:
    app = make_app(prefix_guard_min_sms=2, prefix_guard_min_approved_percent=100)
    counting(app, redis_url)
    client = app.test_client()

    def measure(response: Any) -> list[str]:
        assert response.status_code < 500, response.get_json()
        return list(WRITES)

    client.get(f"{SEND}/VE{'0' * 32}")  # warm-up: opens the connection, loads nothing
    warm = send(client, number(9, OTHER_PREFIX)).get_json()["id"]  # loads the send script
    # loads the check script and the approval's tally script
    check(client, outbox_codes(warm)[0], to=number(9, OTHER_PREFIX))
    WRITES.clear()
    vid = (created := send(client, number(0))).get_json()["id"]
    assert measure(created) == ["EVALSHA"]  # a new SMS: counted and tallied
    WRITES.clear()
    assert measure(send(client, number(0))) == ["EVALSHA"]  # a resend
    WRITES.clear()
    assert measure(send(client, EMAIL, "email")) == ["EVALSHA"]
    WRITES.clear()
    # a wrong code by id: its record's own version's counter, judged inside the script
    assert measure(check(client, "000000", verification_id=vid)) == ["EVALSHA"]
    WRITES.clear()
    # an SMS approval: the check, then its prefix's tally (another slot in a cluster)
    assert measure(check(client, outbox_codes(vid)[0], to=number(0))) == ["EVALSHA", "EVALSHA"]
    WRITES.clear()
    assert measure(send(client, number(1))) == ["EVALSHA"]
    WRITES.clear()
    blocked = send(client, number(2))  # 2 created, 1 approved: below 100 %
    assert blocked.get_json()["code"] == "prefix_blocked"
    assert measure(blocked) == ["EVALSHA"]
