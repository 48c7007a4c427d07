"""Validation rules of docs/api.md, in their documented order. Pure: no Flask, no Redis."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from monolith.problems import Problem, invalid

CHANNELS = ("sms", "email")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
EMAIL_MAX = 254
LOCALE = re.compile(r"[a-z]{2}(?:-[A-Z]{2})?")
CODE = re.compile(r"[0-9]{4,10}")
VERIFICATION_ID = re.compile(r"VE[0-9a-f]{32}")
USER_ID = re.compile(r"US[0-9a-f]{32}")
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
NAME_MAX = 100


@dataclass(frozen=True)
class SendRequest:
    to: str  # normalized
    channel: str
    locale: str | None


@dataclass(frozen=True)
class CheckRequest:
    code: str
    to: str | None = None  # normalized
    channel: str | None = None
    verification_id: str | None = None


@dataclass(frozen=True)
class UserRequest:
    name: str
    phone: str | None
    email: str | None


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid("body")
    return body


def reject_unknown(body: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid(unknown[0])


def normalize_to(channel: str, to: Any, field: str = "to") -> str:
    """The destination as stored (email lower-cased), or 400 naming `field`."""
    if not isinstance(to, str):
        raise invalid(field)
    if channel == "sms" and E164.fullmatch(to):
        return to
    if channel == "email" and to.isascii() and len(to) <= EMAIL_MAX and EMAIL.fullmatch(to):
        return to.lower()
    raise invalid(field)


def channel_of(to: Any) -> str:
    """The channel of a check's `to` (docs/api.md): `email` when it holds an `@`, else `sms`.

    Only the `@` decides: an address may start with `+` (`+tag@example.com`), no E.164 number
    holds an `@`. Whether `to` is valid for that channel is normalize_to's job.
    """
    return "email" if isinstance(to, str) and "@" in to else "sms"


def parse_send(body: Any) -> SendRequest:
    data = require_object(body)
    reject_unknown(data, frozenset({"to", "channel", "locale"}))
    channel = data.get("channel")
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise invalid("channel")
    to = normalize_to(channel, data.get("to"))
    locale = data.get("locale")
    if locale is not None and not (isinstance(locale, str) and LOCALE.fullmatch(locale)):
        raise invalid("locale")
    return SendRequest(to=to, channel=channel, locale=locale)


def parse_idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise invalid("Idempotency-Key")
    return value


def parse_check(body: Any) -> CheckRequest:
    data = require_object(body)
    reject_unknown(data, frozenset({"to", "verification_id", "code"}))
    if ("to" in data) == ("verification_id" in data):
        raise invalid("to")
    code = data.get("code")
    if not (isinstance(code, str) and CODE.fullmatch(code)):
        raise invalid("code")
    if "to" in data:
        channel = channel_of(data["to"])
        return CheckRequest(code=code, to=normalize_to(channel, data["to"]), channel=channel)
    verification_id = data["verification_id"]
    if not isinstance(verification_id, str):
        raise invalid("verification_id")
    if not VERIFICATION_ID.fullmatch(verification_id):
        raise Problem("not_found")
    return CheckRequest(code=code, verification_id=verification_id)


def parse_user(body: Any) -> UserRequest:
    data = require_object(body)
    reject_unknown(data, frozenset({"name", "phone", "email"}))
    name = data.get("name")
    if not (isinstance(name, str) and 1 <= len(name) <= NAME_MAX):
        raise invalid("name")
    phone = data.get("phone")
    email = data.get("email")
    if phone is None and email is None:
        raise invalid("phone")
    return UserRequest(
        name=name,
        phone=None if phone is None else normalize_to("sms", phone, "phone"),
        email=None if email is None else normalize_to("email", email, "email"),
    )
