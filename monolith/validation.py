"""Validation rules of docs/api.md, in their documented order. Pure: no Flask, no Redis."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

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
REFERENCE = re.compile(r"[\x20-\x7e]{1,64}")
NAME_MAX = 100
# SMS goes to numbers a person carries; premium, shared-cost, toll-free, VoIP, pager... numbers
# are where SMS pumping earns its money (docs/api.md "Destinations").
SMS_NUMBER_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
ALL_COUNTRIES = "*"


@dataclass(frozen=True)
class SendRequest:
    to: str  # normalized
    channel: str
    locale: str | None
    end_user_ip: str | None = None  # normalized; counted by the IP limit instead of the client IP
    reference: str | None = None


@dataclass(frozen=True)
class CheckRequest:
    code: str
    to: str | None = None  # normalized
    channel: str | None = None
    verification_id: str | None = None


@dataclass(frozen=True)
class UserSendRequest:
    channel: str
    locale: str | None


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


def parse_phone(to: str) -> phonenumbers.PhoneNumber | None:
    """The number `to` names when it is strict E.164 and a valid number, else None."""
    if not E164.fullmatch(to):
        return None
    try:
        number = phonenumbers.parse(to, None)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def normalize_to(channel: str, to: Any, field: str = "to") -> str:
    """The destination as stored (phone in E.164, email lower-cased), or 400 naming `field`."""
    if not isinstance(to, str):
        raise invalid(field)
    if channel == "sms" and (number := parse_phone(to)) is not None:
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if channel == "email" and to.isascii() and len(to) <= EMAIL_MAX and EMAIL.fullmatch(to):
        return to.lower()
    raise invalid(field)


def channel_of(to: Any) -> str:
    """The channel of a check's `to` (docs/api.md): `email` when it holds an `@`, else `sms`.

    Only the `@` decides: an address may start with `+` (`+tag@example.com`), no E.164 number
    holds an `@`. Whether `to` is valid for that channel is normalize_to's job.
    """
    return "email" if isinstance(to, str) and "@" in to else "sms"


def parse_end_user_ip(value: Any) -> str:
    """An IPv4 or IPv6 address as text: no port, no brackets, no zone; IPv4-mapped is its IPv4."""
    if not isinstance(value, str) or "%" in value:
        raise invalid("end_user_ip")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise invalid("end_user_ip") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def parse_locale(locale: Any) -> str | None:
    if locale is not None and not (isinstance(locale, str) and LOCALE.fullmatch(locale)):
        raise invalid("locale")
    return locale


def parse_send(body: Any) -> SendRequest:
    data = require_object(body)
    reject_unknown(data, frozenset({"to", "channel", "locale", "end_user_ip", "reference"}))
    channel = data.get("channel")
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise invalid("channel")
    to = normalize_to(channel, data.get("to"))
    locale = parse_locale(data.get("locale"))
    end_user_ip = data.get("end_user_ip")
    if end_user_ip is not None:
        end_user_ip = parse_end_user_ip(end_user_ip)
    reference = data.get("reference")
    if reference is not None and not (
        isinstance(reference, str) and REFERENCE.fullmatch(reference)
    ):
        raise invalid("reference")
    return SendRequest(
        to=to, channel=channel, locale=locale, end_user_ip=end_user_ip, reference=reference
    )


def check_sms_destination(
    send: SendRequest, countries: tuple[str, ...], field: str = "to"
) -> None:
    """Refuse an SMS to a number of a refused type (400) or of a country not in `countries` (403),
    naming `field` (the member that gave the number).

    Runs after the body's own checks and before any Redis work: a refused number counts nowhere.
    """
    if send.channel != "sms":
        return
    number = phonenumbers.parse(send.to, None)  # already valid: parse_send checked it
    if phonenumbers.number_type(number) not in SMS_NUMBER_TYPES:
        raise Problem("unsupported_number_type", field=field)
    region = phonenumbers.region_code_for_number(number)
    if ALL_COUNTRIES not in countries and region not in countries:
        raise Problem("geo_not_permitted", field=field)


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


def parse_user_send(body: Any) -> UserSendRequest:
    """The body of POST /api/users/{id}/verifications: the channel of the user's destination."""
    data = require_object(body)
    reject_unknown(data, frozenset({"channel", "locale"}))
    channel = data.get("channel")
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise invalid("channel")
    return UserSendRequest(channel=channel, locale=parse_locale(data.get("locale")))
