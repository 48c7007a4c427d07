"""The legacy users area in Redis (monolith-private keys, see docs/monolith.md)."""

from __future__ import annotations

import redis
from redis.commands.core import Script

from monolith import keys
from monolith.crypto import Keyring, new_user_id
from monolith.validation import UserRequest

VERIFIED_FLAG = {"sms": "phone_verified", "email": "email_verified"}


def create_user(
    client: redis.Redis, keyring: Keyring, ttl_seconds: int, request: UserRequest
) -> dict[str, str]:
    seconds, micros = client.time()
    user = {
        "id": new_user_id(),
        "name": request.name,
        "phone": request.phone or "",
        "email": request.email or "",
        "phone_verified": "0",
        "email_verified": "0",
        "created_at": str(int(seconds) * 1000 + int(micros) // 1000),
    }
    ttl_ms = ttl_seconds * 1000
    pipe = client.pipeline(transaction=True)
    pipe.hset(keys.user(user["id"]), items=[part for pair in user.items() for part in pair])
    pipe.pexpire(keys.user(user["id"]), ttl_ms)
    for channel, to in (("sms", request.phone), ("email", request.email)):
        if to:
            by_dest = keys.users_by_dest(keyring.dest_hash(channel, to))
            pipe.sadd(by_dest, user["id"])
            pipe.pexpire(by_dest, ttl_ms)
    pipe.execute()
    return user


def get_user(client: redis.Redis, user_id: str) -> dict[str, str] | None:
    raw = client.hgetall(keys.user(user_id))
    if not raw:
        return None
    return {
        (k.decode() if isinstance(k, bytes) else str(k)): (
            v.decode() if isinstance(v, bytes) else str(v)
        )
        for k, v in raw.items()
    }


def mark_verified(client: redis.Redis, script: Script, channel: str, dest_hash: str) -> int:
    """Set the channel's verified flag on every user of the destination; idempotent."""
    flag = VERIFIED_FLAG.get(channel)
    if flag is None:
        return 0
    return int(
        script(keys=[keys.users_by_dest(dest_hash)], args=[keys.USER_PREFIX, flag], client=client)
    )
