"""Request validation of docs/api.md, in the documented order (first failure answers)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from services.verification.errors import GeoNotPermitted, InvalidParameter, UnsupportedNumberType

CHANNELS = ("sms", "email")
SEND_MEMBERS = frozenset({"to", "channel", "locale", "end_user_ip", "reference"})
CHECK_MEMBERS = frozenset({"to", "verification_id", "code"})

# fullmatch everywhere: `$` in `re.match` would also accept a trailing newline.
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
EMAIL_MAX_LENGTH = 254
LOCALE = re.compile(r"[a-z]{2}(?:-[A-Z]{2})?")
CODE = re.compile(r"[0-9]{4,10}")
VERIFICATION_ID = re.compile(r"VE[0-9a-f]{32}")
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
REFERENCE_MAX_LENGTH = 64
REFERENCE = re.compile(rf"[\x20-\x7e]{{1,{REFERENCE_MAX_LENGTH}}}")
# SMS goes to numbers a person carries; premium, shared-cost, toll-free, VoIP, pager... numbers
# are where SMS pumping earns its money (docs/api.md "Destinations").
SMS_NUMBER_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
ALL_COUNTRIES = "*"


@dataclass(frozen=True)
class SendRequest:
    to: str  # normalized: email lower-cased, phone in canonical E.164
    channel: str
    locale: str | None
    end_user_ip: str | None = None  # the address as given; the IP limit counts it when present
    reference: str | None = None
    # An SMS's number as judged while validating `to`, so check_sms_destination judges it once.
    phone: Phone | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Phone:
    """A valid number, and the facts a send judges it by."""

    number: phonenumbers.PhoneNumber
    number_type: int  # a PhoneNumberType
    region: str


@dataclass(frozen=True)
class CheckRequest:
    code: str
    verification_id: str | None = None
    to: str | None = None
    channel: str | None = None


def is_verification_id(text: str) -> bool:
    return VERIFICATION_ID.fullmatch(text) is not None


def parse_phone(to: str) -> Phone | None:
    """The number `to` names when it is strict E.164 and a valid number, else None.

    Valid is phonenumbers' `is_valid_number`, worked out from the two facts a send judges next:
    that is a number whose region (found from its country code) is known and whose type is not
    UNKNOWN. (`is_valid_number` finds the region, then matches the number against that region's
    patterns, which is how `number_type` finds the type; its other checks, that the region's
    country code is the number's, hold for a region found from the country code.) So each fact
    is worked out once; tests/unit/services/test_phone_numbers.py holds the two to agree.
    """
    if not E164.fullmatch(to):
        return None
    try:
        number = phonenumbers.parse(to, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    number_type = phonenumbers.number_type(number)
    if region is None or number_type == PhoneNumberType.UNKNOWN:
        return None
    return Phone(number, number_type, region)


def normalize_destination(channel: str, to: Any) -> str:
    """The destination as stored, or InvalidParameter('to')."""
    return _destination(channel, to)[0]


def _destination(channel: str, to: Any) -> tuple[str, Phone | None]:
    """normalize_destination's answer, and an SMS's number."""
    if not isinstance(to, str):
        raise InvalidParameter("to")
    if channel == "sms" and (phone := parse_phone(to)) is not None:
        return phonenumbers.format_number(phone.number, PhoneNumberFormat.E164), phone
    if (
        channel == "email"
        and to.isascii()
        and len(to) <= EMAIL_MAX_LENGTH
        and EMAIL.fullmatch(to)
    ):
        return to.lower(), None
    raise InvalidParameter("to")


def channel_of(to: Any) -> str:
    """The channel of a check's `to` (docs/api.md): `email` when it holds an `@`, else `sms`.

    Only the `@` decides: an address may start with `+` (`+tag@example.com`), no E.164 number
    holds an `@`. Whether `to` is valid for that channel is normalize_destination's job.
    """
    return "email" if isinstance(to, str) and "@" in to else "sms"


def _reject_unknown(body: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidParameter(unknown[0])


def parse_send_body(body: Any) -> SendRequest:
    if not isinstance(body, dict):
        raise InvalidParameter("body")
    _reject_unknown(body, SEND_MEMBERS)
    channel = body.get("channel")
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise InvalidParameter("channel")
    to, phone = _destination(channel, body.get("to"))
    locale = body.get("locale")
    if locale is not None and not (isinstance(locale, str) and LOCALE.fullmatch(locale)):
        raise InvalidParameter("locale")
    return SendRequest(
        to=to, channel=channel, locale=locale,
        end_user_ip=parse_end_user_ip(body.get("end_user_ip")),
        reference=parse_reference(body.get("reference")), phone=phone,
    )


def parse_end_user_ip(value: Any) -> str | None:
    """An IPv4 or IPv6 address as text: no port, no brackets, no zone (`%`); null is none."""
    if value is None:
        return None
    if not isinstance(value, str) or "%" in value:
        raise InvalidParameter("end_user_ip")
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise InvalidParameter("end_user_ip") from None
    return value


def parse_reference(value: Any) -> str | None:
    """1-64 printable ASCII characters (0x20-0x7E); null is none."""
    if value is None:
        return None
    if not isinstance(value, str) or not REFERENCE.fullmatch(value):
        raise InvalidParameter("reference")
    return value


def parse_check_body(body: Any) -> CheckRequest:
    if not isinstance(body, dict):
        raise InvalidParameter("body")
    _reject_unknown(body, CHECK_MEMBERS)
    if ("to" in body) == ("verification_id" in body):
        raise InvalidParameter("to")
    code = body.get("code")
    if not isinstance(code, str) or not CODE.fullmatch(code):
        raise InvalidParameter("code")
    if "to" in body:
        to = body["to"]
        channel = channel_of(to)
        return CheckRequest(code=code, to=normalize_destination(channel, to), channel=channel)
    verification_id = body["verification_id"]
    if not isinstance(verification_id, str):
        raise InvalidParameter("verification_id")
    return CheckRequest(code=code, verification_id=verification_id)


def check_sms_destination(request: SendRequest, countries: tuple[str, ...]) -> None:
    """Refuse an SMS to a number of a refused type (400) or of a country not in `countries` (403).

    Runs after the body's own checks and before any Redis work: a refused number counts nowhere.
    """
    if request.channel != "sms":
        return
    # Already valid: parse_send_body checked it, and kept its facts (of the same country code and
    # national number as the stored form's, so the same type and region).
    region: str | None
    if request.phone is not None:
        number_type, region = request.phone.number_type, request.phone.region
    else:
        number = phonenumbers.parse(request.to, None)
        number_type = phonenumbers.number_type(number)
        region = phonenumbers.region_code_for_number(number)
    if number_type not in SMS_NUMBER_TYPES:
        raise UnsupportedNumberType()
    if ALL_COUNTRIES not in countries and region not in countries:
        raise GeoNotPermitted()


def check_idempotency_key(value: str | None) -> str | None:
    if value is not None and not IDEMPOTENCY_KEY.fullmatch(value):
        raise InvalidParameter("Idempotency-Key")
    return value
