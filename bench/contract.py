"""The pieces of docs/storage-contract.md the bench needs to write pending verifications itself
(the record's fields are written in bench/redis_lua/load_pending.lua).

The bench is a third party to both implementations, so it keeps its own copy of these few facts;
tests/unit/bench/test_contract.py checks them against docs/storage-contract-vectors.json.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CONTRACT_VERSION = "2"
RECORD_PREFIX = "vfy:ver:"
# The bench's own client (its key's in bench/http.py): records and pending indexes are per client.
CLIENT = "bench"


def pending_key(client: str, dest_hash: str) -> str:
    return f"vfy:pending:{client}:{dest_hash}"


DEST_LIMIT_PREFIX = "vfy:rl:dest:"
IP_LIMIT_PREFIX = "vfy:rl:ip:"
OUTBOX = "vfy:outbox"


def _hmac_hex(pepper: str, message: str) -> str:
    return hmac.new(pepper.encode(), message.encode(), hashlib.sha256).hexdigest()


def code_mac(pepper: str, code: str) -> str:
    return _hmac_hex(pepper, f"code|{code}")


def dest_hash(pepper: str, channel: str, normalized_to: str) -> str:
    return _hmac_hex(pepper, f"dest|{channel}|{normalized_to}")[:32]


def prefix_hash(pepper: str, normalized_to: str) -> str:
    """The SMS-pumping guards' hash of a number's prefix: its E.164 without the last 4 digits."""
    return _hmac_hex(pepper, f"prefix|{normalized_to[:-4]}")[:32]


def seal_key(pepper: str) -> bytes:
    return hmac.new(pepper.encode(), b"seal-key|v1", hashlib.sha256).digest()


def seal_with(aead: AESGCM, verification_id: str, code: str, nonce: bytes | None = None) -> str:
    """base64url_nopad(nonce || ciphertext || tag), the id as associated data."""
    nonce = secrets.token_bytes(12) if nonce is None else nonce
    sealed = aead.encrypt(nonce, code.encode(), verification_id.encode())
    return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()


def open_seal(aead: AESGCM, verification_id: str, sealed: str) -> str:
    raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
    return aead.decrypt(raw[:12], raw[12:], verification_id.encode()).decode()


def new_id() -> str:
    return "VE" + secrets.token_hex(16)
