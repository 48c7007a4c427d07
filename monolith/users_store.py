"""The legacy users area in Redis (monolith-private keys, see docs/monolith.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis
from redis.commands.core import Script

from monolith import keys
from monolith.crypto import new_user_id
from monolith.validation import USER_ID, UserRequest


@dataclass(frozen=True)
class Destination:
    """A user's destination on one channel: the user's member that holds it, and its flag."""

    field: str
    verified_flag: str


DESTINATIONS = {
    "sms": Destination("phone", "phone_verified"),
    "email": Destination("email", "email_verified"),
}


def create_user(client: redis.Redis, ttl_seconds: int, request: UserRequest) -> dict[str, str]:
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
    pipe = client.pipeline(transaction=True)
    pipe.hset(keys.user(user["id"]), items=[part for pair in user.items() for part in pair])
    pipe.pexpire(keys.user(user["id"]), ttl_seconds * 1000)
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


def mark_verified(
    client: redis.Redis, script: Script, reference: str, channel: str,
    is_approved_destination: Callable[[str], bool],
) -> int:
    """Set the channel's verified flag on the user whose id is the approval's reference, when
    that user's destination on the channel is the approved one (`is_approved_destination`, given
    the user's normalized destination, compares it with the event's keyed hash); 1 when marked,
    else 0.

    An approval without a user's id as reference (a plain API verification) marks nobody.
    Idempotent; the script sets the flag only while the user still holds that destination."""
    destination = DESTINATIONS.get(channel)
    if destination is None or not USER_ID.fullmatch(reference):
        return 0
    to = client.hget(keys.user(reference), destination.field)
    if not isinstance(to, str) or not to:
        return 0
    if not is_approved_destination(to):
        return 0
    return int(script(
        keys=[keys.user(reference)], args=[destination.field, to, destination.verified_flag],
        client=client,
    ))
