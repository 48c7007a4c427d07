"""Hostile requests: each must be answered with a 4xx problem whose code is one of `codes`.

`@TO@` in a body becomes a fresh phone number per request, so a body that a lax parser accepts
creates a verification (and shows as a 2xx) instead of hitting a rate limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tests.faults.api import CHECK_PATH, SEND_PATH

UNKNOWN_ID = "VE" + "0" * 32
BAD_JSON = frozenset({"malformed_json", "invalid_parameter"})  # what a strict parser may say


@dataclass(frozen=True)
class Hostile:
    name: str
    path: str
    body: bytes
    codes: frozenset[str]
    param: str | None = None  # the `field` an invalid_parameter answer must name
    content_type: str | None = "application/json"
    headers: dict[str, bytes] = field(default_factory=dict)
    chunked: bool = False
    method: str = "POST"


def text(value: object) -> bytes:
    """JSON with the characters as they are (no \\u escapes): the bytes a client would send."""
    return json.dumps(value, ensure_ascii=False).encode()


def send_to(to: object, channel: object = "sms") -> bytes:
    return text({"to": to, "channel": channel})


def check_code(code: object) -> bytes:
    return text({"verification_id": UNKNOWN_ID, "code": code})


def padded(body: bytes, size: int) -> bytes:
    return body[:-1] + b" " * (size - len(body)) + b"}"


def invalid(name: str, path: str, body: bytes, param: str,
            headers: dict[str, bytes] | None = None) -> Hostile:
    return Hostile(name, path, body, frozenset({"invalid_parameter"}), param,
                   headers=headers or {})


VALID_SEND = b'{"to":"@TO@","channel":"sms"}'
S, C = SEND_PATH, CHECK_PATH
TOO_LARGE = frozenset({"payload_too_large"})
CASES: list[Hostile] = [
    # nesting and size
    Hostile("brackets_100k", S, b"[" * 100_000, TOO_LARGE),
    Hostile("brackets_16k", S, b"[" * 16_000, frozenset({"malformed_json"})),
    Hostile("brackets_16k_check", C, b"[" * 16_000, frozenset({"malformed_json"})),
    Hostile("deep_valid_array", S, b"[" * 8000 + b"]" * 8000, BAD_JSON, "body"),
    Hostile("deep_valid_object", C, b'{"a":' * 2700 + b"1" + b"}" * 2700, BAD_JSON, "a"),
    Hostile("body_16k_plus_1", S, padded(VALID_SEND, 16 * 1024 + 1), TOO_LARGE),
    Hostile("body_16k_plus_1_check", C, padded(check_code("123456"), 16 * 1024 + 1), TOO_LARGE),
    Hostile("chunked_16k_plus_1", S, padded(VALID_SEND, 16 * 1024 + 1), TOO_LARGE, chunked=True),
    Hostile("chunked_64k", S, b'{"to":"' + b"1" * 65536 + b'","channel":"sms"}', TOO_LARGE,
            chunked=True),
    # numbers
    invalid("float_1e400_to", S, b'{"to":1e400,"channel":"sms"}', "to"),
    invalid("float_1e400_code", C, check_code(0)[:-2] + b"1e400}", "code"),
    Hostile("int_5001_digits_to", S, b'{"to":1' + b"0" * 5000 + b',"channel":"sms"}',
            BAD_JSON, "to"),
    Hostile("int_5001_digits_code", C, check_code(0)[:-2] + b"1" + b"0" * 5000 + b"}",
            BAD_JSON, "code"),
    Hostile("nan_to", S, b'{"to":NaN,"channel":"sms"}', BAD_JSON, "to"),
    Hostile("minus_infinity_code", C, check_code(0)[:-2] + b"-Infinity}", BAD_JSON, "code"),
    # unicode tricks
    invalid("rtl_override_to", S, send_to("+1415555\u202e0100"), "to"),
    invalid("zero_width_to", S, send_to("+1415\u200b5550100"), "to"),
    invalid("fullwidth_digits_to", S, send_to("+\uff11\uff14\uff11\uff15\uff15\uff15\uff15\uff10"
                                              "\uff11\uff10\uff10"), "to"),
    invalid("nul_in_phone", S, send_to("+14155550100\u0000"), "to"),
    invalid("nul_in_email", S, send_to("ada\u0000@example.com", "email"), "to"),
    invalid("cyrillic_a_email", S, send_to("\u0430da@example.com", "email"), "to"),
    invalid("lone_surrogate_email", S, b'{"to":"\\ud800@example.com","channel":"email"}', "to"),
    invalid("fullwidth_digits_code", C, check_code("\uff11\uff12\uff13\uff14\uff15\uff16"),
            "code"),
    invalid("arabic_indic_code", C, check_code("\u0661\u0662\u0663\u0664\u0665\u0666"), "code"),
    invalid("nul_in_code", C, check_code("123456\u0000"), "code"),
    invalid("rtl_override_check_to", C, text({"to": "+1415555\u202e0100", "code": "123456"}),
            "to"),
    invalid("lone_surrogate_check_to", C, b'{"to":"\\udfff@example.com","code":"123456"}', "to"),
    # header injection through `to`
    invalid("crlf_in_email", S, send_to("ada@example.com\r\nBcc: eve@example.com", "email"),
            "to"),
    invalid("encoded_crlf_in_email", S, send_to("ada@example.com%0d%0aBcc:eve@example.com",
                                                "email"), "to"),
    invalid("crlf_in_phone", S, send_to("+14155550100\r\nX-Injected: 1"), "to"),
    invalid("crlf_in_check_to", C, text({"to": "ada@example.com\r\nBcc: e@example.com",
                                         "code": "123456"}), "to"),
    # wrong types
    invalid("to_list", S, b'{"to":["@TO@"],"channel":"sms"}', "to"),
    invalid("to_object", S, b'{"to":{"$gt":""},"channel":"sms"}', "to"),
    invalid("to_true", S, b'{"to":true,"channel":"sms"}', "to"),
    invalid("to_null", S, b'{"to":null,"channel":"sms"}', "to"),
    invalid("channel_int", S, b'{"to":"@TO@","channel":1}', "channel"),
    invalid("code_int", C, check_code(123456), "code"),
    invalid("verification_id_int", C, b'{"verification_id":12,"code":"123456"}',
            "verification_id"),
    invalid("body_string", S, b'"hello"', "body"),
    invalid("body_null", S, b"null", "body"),
    invalid("body_array_check", C, b"[]", "body"),
    invalid("unknown_member_proto", S, b'{"to":"@TO@","channel":"sms","__proto__":{"a":1}}',
            "__proto__"),
    # duplicate keys: which value wins is a parser's whim, so the request must not pass
    Hostile("duplicate_to", S, b'{"to":"@TO@","to":"@TO@","channel":"sms"}', BAD_JSON, "to"),
    Hostile("duplicate_code", C, b'{"verification_id":"' + UNKNOWN_ID.encode()
            + b'","code":"x","code":"123456"}', BAD_JSON, "code"),
    # bytes that are not UTF-8
    Hostile("invalid_utf8_byte", S, b'{"to":"+1415555\xff0100","channel":"sms"}', BAD_JSON, "to"),
    Hostile("latin1_email", S, b'{"to":"caf\xe9@example.com","channel":"email"}', BAD_JSON,
            "to"),
    Hostile("utf16_body", S, '{"to":"+14155550100","channel":"sms"}'.encode("utf-16"), BAD_JSON,
            "body"),
    # broken JSON and wrong media types
    Hostile("truncated", S, b'{"to":"@TO@","channel":"sms"', frozenset({"malformed_json"})),
    Hostile("empty", S, b"", frozenset({"malformed_json"})),
    Hostile("trailing_garbage", S, VALID_SEND + b" x", frozenset({"malformed_json"})),
    Hostile("text_plain", S, VALID_SEND, frozenset({"unsupported_media_type"}),
            content_type="text/plain"),
    Hostile("no_content_type", C, check_code("123456"), frozenset({"unsupported_media_type"}),
            content_type=None),
    Hostile("form_encoded", C, b"to=%2B14155550100&code=123456",
            frozenset({"unsupported_media_type"}),
            content_type="application/x-www-form-urlencoded"),
    # headers
    invalid("idempotency_key_latin1", S, VALID_SEND, "Idempotency-Key",
            headers={"Idempotency-Key": "cl\u00e9".encode("latin-1")}),
    invalid("idempotency_key_256", S, VALID_SEND, "Idempotency-Key",
            headers={"Idempotency-Key": b"k" * 256}),
    invalid("idempotency_key_space", S, VALID_SEND, "Idempotency-Key",
            headers={"Idempotency-Key": b"a b"}),
    # paths (a malformed id is simply not found)
    Hostile("id_fullwidth_zeros", S + "/VE" + "%EF%BC%90" * 32, b"", frozenset({"not_found"}),
            method="GET", content_type=None),
    Hostile("id_nul", S + "/VE%00" + "0" * 31, b"", frozenset({"not_found"}), method="GET",
            content_type=None),
    Hostile("id_traversal", S + "/..%2F..%2Fetc%2Fpasswd", b"", frozenset({"not_found"}),
            method="GET", content_type=None),
    Hostile("cancel_unknown_hostile_body", f"{S}/{UNKNOWN_ID}/cancel", b"[" * 100_000,
            frozenset({"not_found", "payload_too_large"}), content_type="text/plain"),
]
