"""The pieces of docs/storage-contract.md the bench needs to write pending verifications itself
and to find the keys a target wrote: version 3 (what the services create by default) and the
version-2 facts the bench still uses (its `--storage-version 2` loader, and reading what a side
set to `VERIFY_STORAGE_WRITE_VERSION=2` wrote).

The bench is a third party to both implementations, so it keeps its own copy of these few facts;
tests/unit/bench/test_bench_contract.py checks them against docs/storage-contract-vectors.json.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import secrets
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CONTRACT_VERSION = "3"
# The bench's own client (its key's in bench/http.py): records are per client.
CLIENT = "bench"

# -- shared by both versions: keyed hashes, counters, the seal key ------------------------------

DEST_LIMIT_PREFIX = "vfy:rl:dest:"
IP_LIMIT_PREFIX = "vfy:rl:ip:"


@functools.lru_cache(maxsize=8)
def _keyed(pepper: str) -> tuple[Any, Any]:
    """HMAC-SHA256's inner and outer hashes with the pepper absorbed (RFC 2104): the loader makes
    four MACs per verification, and copying these halves what `hmac.digest` costs."""
    key = pepper.encode()
    key = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in key)),
            hashlib.sha256(bytes(b ^ 0x5C for b in key)))


def _hmac(pepper: str, message: str) -> bytes:
    inner_prototype, outer_prototype = _keyed(pepper)
    inner, outer = inner_prototype.copy(), outer_prototype.copy()
    inner.update(message.encode())
    outer.update(inner.digest())
    return bytes(outer.digest())


def _b64url_nopad(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def code_mac(pepper: str, code: str) -> str:
    return _hmac(pepper, f"code|{code}").hex()


def dest_hash(pepper: str, channel: str, normalized_to: str) -> str:
    return _hmac(pepper, f"dest|{channel}|{normalized_to}").hex()[:32]


def prefix_hash(pepper: str, normalized_to: str) -> str:
    """The SMS-pumping guards' hash of a number's prefix: its E.164 without the last 4 digits."""
    return _hmac(pepper, f"prefix|{normalized_to[:-4]}").hex()[:32]


def seal_key(pepper: str) -> bytes:
    return _hmac(pepper, "seal-key|v1")


# -- version 3 ("Version 3") ---------------------------------------------------------------------

V3_PREFIX = "vfy3:"
BUCKETS = 64
# Every v3 key of one client's destination: vfy3:{b<bucket>}:<kind>:{client}:{dest_key}.
V3_RECORD_PATTERN = V3_PREFIX + "{b*}:d:*"
V3_FAILED_CHECKS_PATTERN = V3_PREFIX + "{b*}:fail:*"
V3_OUTBOX_PATTERN = V3_PREFIX + "{b*}:outbox"
STATUS_PENDING = "p"
CHANNEL_SMS = "s"


def dest_key(pepper: str, client: str, dest_hash_hex: str) -> str:
    return _hmac(pepper, f"dest-key|{client}|{dest_hash_hex}").hex()[:16]


def bucket_of(dest_key_hex: str) -> int:
    return int(dest_key_hex[0:2], 16) % BUCKETS


def _v3_key(kind: str, client: str, dest_key_hex: str) -> str:
    return f"{V3_PREFIX}{{b{bucket_of(dest_key_hex)}}}:{kind}:{client}:{dest_key_hex}"


def record_key(client: str, dest_key_hex: str) -> str:
    return _v3_key("d", client, dest_key_hex)


def retained_key(client: str, dest_key_hex: str) -> str:
    return _v3_key("f", client, dest_key_hex)


def failed_checks_key(client: str, dest_key_hex: str) -> str:
    return _v3_key("fail", client, dest_key_hex)


def outbox_stream(bucket: int) -> str:
    return f"{V3_PREFIX}{{b{bucket}}}:outbox"


def events_stream(bucket: int) -> str:
    return f"{V3_PREFIX}{{b{bucket}}}:events"


def new_id(dest_key_hex: str) -> str:
    """`VE` + dest_key + 16 random hex: the id names its own record key."""
    return "VE" + dest_key_hex + secrets.token_hex(8)


def dest_key_of_id(verification_id: str) -> str:
    return verification_id[2:18]


def rand_of_id(verification_id: str) -> str:
    return verification_id[18:34]


def code_mac16(pepper: str, code: str) -> str:
    return _b64url_nopad(_hmac(pepper, f"code|{code}")[:16])


def seal_nonce_v3(pepper: str, verification_id: str) -> bytes:
    return _hmac(pepper, f"seal-nonce|{verification_id}")[:12]


def seal_v3(aead: AESGCM, pepper: str, verification_id: str, code: str) -> str:
    """base64url_nopad(ciphertext || tag): the nonce comes from the id, so it is not stored."""
    nonce = seal_nonce_v3(pepper, verification_id)
    return _b64url_nopad(aead.encrypt(nonce, code.encode(), verification_id.encode()))


def open_seal_v3(aead: AESGCM, pepper: str, verification_id: str, sealed: str) -> str:
    nonce = seal_nonce_v3(pepper, verification_id)
    return aead.decrypt(nonce, _b64url_decode(sealed), verification_id.encode()).decode()


def _length_prefixed(text: str) -> str:
    return f"{len(text.encode())}:{text}"


class Packed(NamedTuple):  # a tuple, not a dataclass: the loader makes a million of them
    """The fields of "The packed record", short forms as stored (channel `s`/`e`, status `p`...)."""

    rand: str
    to: str
    channel: str
    locale: str
    reference: str
    status: str
    code_mac16: str
    code_sealed: str
    send_attempts: int
    check_attempts: int
    created_at: int
    ttl: int
    sent_offset: int


def pack(record: Packed) -> str:
    return "|".join((
        record.rand, _length_prefixed(record.to), record.channel,
        _length_prefixed(record.locale), _length_prefixed(record.reference), record.status,
        record.code_mac16, record.code_sealed, str(record.send_attempts),
        str(record.check_attempts), str(record.created_at), str(record.ttl),
        str(record.sent_offset)))


def pending_sms(rand: str, to: str, mac16: str, sealed: str, now_ms: int, ttl_ms: int) -> str:
    """A new SMS verification as send creates it (no locale, no reference), packed."""
    return pack(Packed(rand, to, CHANNEL_SMS, "", "", STATUS_PENDING, mac16, sealed, 1, 0,
                       now_ms, ttl_ms, 0))


def packed_to(packed: str) -> str:
    """The `to` of a packed record (field 2, length-prefixed), without parsing the rest."""
    raw = packed.encode()
    start = raw.index(b"|") + 1
    colon = raw.index(b":", start)
    return raw[colon + 1:colon + 1 + int(raw[start:colon])].decode()


# -- version 2 (the sections before "Version 3"): what the bench still writes or reads ----------

V2_RECORD_PREFIX = "vfy:ver:"
V2_OUTBOX = "vfy:outbox"


def v2_record_key(verification_id: str) -> str:
    return V2_RECORD_PREFIX + verification_id


def v2_pending_key(client: str, dest_hash_hex: str) -> str:
    return f"vfy:pending:{client}:{dest_hash_hex}"


def v2_failed_checks_key(client: str, dest_hash_hex: str) -> str:
    return f"vfy:rl:fail:{client}:{dest_hash_hex}"


def v2_new_id() -> str:
    return "VE" + secrets.token_hex(16)


def seal_v2(aead: AESGCM, verification_id: str, code: str, nonce: bytes | None = None) -> str:
    """base64url_nopad(nonce || ciphertext || tag), a random nonce, the id as associated data."""
    nonce = secrets.token_bytes(12) if nonce is None else nonce
    sealed = aead.encrypt(nonce, code.encode(), verification_id.encode())
    return _b64url_nopad(nonce + sealed)


def open_seal_v2(aead: AESGCM, verification_id: str, sealed: str) -> str:
    raw = _b64url_decode(sealed)
    return aead.decrypt(raw[:12], raw[12:], verification_id.encode()).decode()
