"""Keyed hashes and the code seal of docs/storage-contract.md ("Keyed hashes", "The sealed code").

Every hash is HMAC-SHA256 keyed with the pepper's UTF-8 bytes over `|`-separated parts.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import ipaddress
import json
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
TAG_BYTES = 16
SEAL_KEY_MESSAGE = "seal-key|v1"


class SealError(ValueError):
    """A sealed code that cannot be opened: malformed, tampered, wrong id or wrong pepper."""


def _hmac_hex(pepper: str, message: str) -> str:
    return hmac.digest(pepper.encode(), message.encode(), "sha256").hex()


def code_mac(pepper: str, code: str) -> str:
    return _hmac_hex(pepper, f"code|{code}")


def dest_hash(pepper: str, channel: str, normalized_to: str) -> str:
    return _hmac_hex(pepper, f"dest|{channel}|{normalized_to}")[:32]


# A number's prefix is its canonical E.164 without this many last digits (its number range).
PREFIX_DROPPED_DIGITS = 4


def number_prefix(normalized_to: str) -> str:
    return normalized_to[:-PREFIX_DROPPED_DIGITS]


def prefix_hash(pepper: str, normalized_to: str) -> str:
    """The SMS-pumping guards' keyed hash of an SMS destination's number prefix."""
    return _hmac_hex(pepper, f"prefix|{number_prefix(normalized_to)}")[:32]


def ip_limit_subject(client_ip: str) -> str:
    """What the IP limit counts: an IPv4 address, or an IPv6 address's /64 network in canonical
    text (one subscriber's LAN: counting single IPv6 addresses would be no limit at all)."""
    address = ipaddress.ip_address(client_ip)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def ip_hash(pepper: str, client_ip: str) -> str:
    """The IP limit's keyed hash: of the client's address, or for IPv6 of its /64 network."""
    return _hmac_hex(pepper, f"ip|{ip_limit_subject(client_ip)}")[:32]


def idem_hash(pepper: str, client: str, idempotency_key: str) -> str:
    """Contract v2: the key is the client's own (v1 hashed `idem|{key}` alone)."""
    return _hmac_hex(pepper, f"idem|{client}|{idempotency_key}")[:32]


def canonical_json(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def request_hash(pepper: str, method: str, path: str, body: Any) -> str:
    return _hmac_hex(pepper, f"body|{method} {path}|{canonical_json(body)}")


def seal_key(pepper: str) -> bytes:
    return hmac.new(pepper.encode(), SEAL_KEY_MESSAGE.encode(), hashlib.sha256).digest()


@functools.lru_cache(maxsize=4)
def _aead(pepper: str) -> AESGCM:
    """The cipher for a pepper, derived once (a process has one pepper; tests use a few)."""
    return AESGCM(seal_key(pepper))


def _b64url_nopad(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal_code(pepper: str, verification_id: str, code: str, nonce: bytes | None = None) -> str:
    """AES-256-GCM over the code, the id as associated data; a fresh random nonce unless given."""
    nonce = secrets.token_bytes(NONCE_BYTES) if nonce is None else nonce
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"the seal nonce must be {NONCE_BYTES} bytes, got {len(nonce)}")
    sealed = _aead(pepper).encrypt(
        nonce, code.encode("ascii"), verification_id.encode("ascii")
    )
    return _b64url_nopad(nonce + sealed)


def open_sealed_code(pepper: str, verification_id: str, sealed: str) -> str:
    """The code inside `sealed`; SealError when it is malformed or does not authenticate."""
    try:
        raw = _b64url_decode(sealed)
    except (binascii.Error, ValueError) as exc:
        raise SealError("sealed code is not base64url") from exc
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise SealError("sealed code is too short")
    try:
        aad = verification_id.encode("ascii")
        plain = _aead(pepper).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
    except (InvalidTag, UnicodeEncodeError) as exc:
        raise SealError("sealed code does not open (wrong pepper, id or tampered)") from exc
    return plain.decode("ascii")


# Contract version 3 ("Destination key, bucket, id"; "The version-3 seal").
DEST_KEY_HEX = 16


def dest_key(pepper: str, client: str, dest_hash_hex: str) -> str:
    """The client-bound key of a destination: its v3 record key and the first half of its ids."""
    return _hmac_hex(pepper, f"dest-key|{client}|{dest_hash_hex}")[:DEST_KEY_HEX]


def code_mac16(pepper: str, code: str) -> str:
    """The v3 record's code MAC: base64url of the first 16 bytes of `code_mac`'s HMAC."""
    raw = hmac.digest(pepper.encode(), f"code|{code}".encode(), "sha256")
    return _b64url_nopad(raw[:16])


def code_macs(pepper: str, code: str) -> tuple[str, str]:
    """(code_mac16, code_mac) from one HMAC: a check compares both versions' records."""
    raw = hmac.digest(pepper.encode(), f"code|{code}".encode(), "sha256")
    return _b64url_nopad(raw[:16]), raw.hex()


def v3_nonce(pepper: str, verification_id: str) -> bytes:
    digest = hmac.digest(pepper.encode(), f"seal-nonce|{verification_id}".encode(), "sha256")
    return digest[:NONCE_BYTES]


def seal_code_v3(pepper: str, verification_id: str, code: str) -> str:
    """The v3 seal: the nonce is derived from the id, so only ciphertext and tag are stored."""
    sealed = _aead(pepper).encrypt(
        v3_nonce(pepper, verification_id), code.encode("ascii"), verification_id.encode("ascii")
    )
    return _b64url_nopad(sealed)


def open_sealed_code_v3(pepper: str, verification_id: str, sealed: str) -> str:
    """The code inside a v3 seal; SealError when it is malformed or does not authenticate."""
    try:
        raw = _b64url_decode(sealed)
    except (binascii.Error, ValueError) as exc:
        raise SealError("sealed code is not base64url") from exc
    if len(raw) < TAG_BYTES:
        raise SealError("sealed code is too short")
    try:
        aad = verification_id.encode("ascii")
        plain = _aead(pepper).decrypt(v3_nonce(pepper, verification_id), raw, aad)
    except (InvalidTag, UnicodeEncodeError) as exc:
        raise SealError("sealed code does not open (wrong pepper, id or tampered)") from exc
    return plain.decode("ascii")
