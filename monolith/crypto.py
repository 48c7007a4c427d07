"""Keyed hashes, the code seal and fresh secrets, as docs/storage-contract.md defines them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


def canonical_json(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def ip_limit_subject(client_ip: str) -> str:
    """What the IP limit counts (storage contract): an IPv4 address, or an IPv6 address's /64
    network (one subscriber's LAN: counting single IPv6 addresses would be no limit at all)."""
    address = ipaddress.ip_address(client_ip)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def number_prefix(normalized_to: str) -> str:
    """An SMS destination's number range (storage contract): its E.164 without the last 4
    digits, what a pumping operator's numbers share."""
    return normalized_to[:-4]


class Keyring:
    """Everything derived from CODE_PEPPER; the seal key is derived once."""

    def __init__(self, pepper: str) -> None:
        self._key = pepper.encode("utf-8")
        self._seal = AESGCM(self.seal_key())

    def _mac(self, message: str) -> str:
        return hmac.new(self._key, message.encode("utf-8"), hashlib.sha256).hexdigest()

    def seal_key(self) -> bytes:
        return hmac.new(self._key, b"seal-key|v1", hashlib.sha256).digest()

    def code_mac(self, code: str) -> str:
        return self._mac(f"code|{code}")

    def dest_hash(self, channel: str, normalized_to: str) -> str:
        return self._mac(f"dest|{channel}|{normalized_to}")[:32]

    def ip_hash(self, client_ip: str) -> str:
        return self._mac(f"ip|{ip_limit_subject(client_ip)}")[:32]

    def prefix_hash(self, normalized_to: str) -> str:
        """Of an SMS destination's number prefix; emails have none."""
        return self._mac(f"prefix|{number_prefix(normalized_to)}")[:32]

    def idem_hash(self, client: str, idempotency_key: str) -> str:
        """Scoped per client (contract v2): another client's same key is another key."""
        return self._mac(f"idem|{client}|{idempotency_key}")[:32]

    def request_hash(self, method: str, path: str, body: Any) -> str:
        return self._mac(f"body|{method} {path}|{canonical_json(body)}")

    def seal_code(self, verification_id: str, code: str, nonce: bytes | None = None) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES) if nonce is None else nonce
        sealed = nonce + self._seal.encrypt(nonce, code.encode("ascii"), verification_id.encode())
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def open_seal(self, verification_id: str, code_sealed: str) -> str:
        """The code inside a seal; raises cryptography's InvalidTag when it was not ours."""
        raw = base64.urlsafe_b64decode(code_sealed + "=" * (-len(code_sealed) % 4))
        nonce, box = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        return self._seal.decrypt(nonce, box, verification_id.encode()).decode("ascii")

    # Contract version 3: a client-bound destination key, a short code MAC, a nonce from the id.
    def dest_key(self, client: str, dest_hash: str) -> str:
        return self._mac(f"dest-key|{client}|{dest_hash}")[:16]

    def code_mac16(self, code: str) -> str:
        raw = hmac.new(self._key, f"code|{code}".encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def _v3_nonce(self, verification_id: str) -> bytes:
        digest = hmac.new(self._key, f"seal-nonce|{verification_id}".encode(), hashlib.sha256)
        return digest.digest()[:NONCE_BYTES]

    def seal_code_v3(self, verification_id: str, code: str) -> str:
        box = self._seal.encrypt(
            self._v3_nonce(verification_id), code.encode("ascii"), verification_id.encode()
        )
        return base64.urlsafe_b64encode(box).rstrip(b"=").decode("ascii")

    def open_seal_v3(self, verification_id: str, code_sealed: str) -> str:
        """The code inside a v3 seal; raises cryptography's InvalidTag when it was not ours."""
        box = base64.urlsafe_b64decode(code_sealed + "=" * (-len(code_sealed) % 4))
        nonce = self._v3_nonce(verification_id)
        return self._seal.decrypt(nonce, box, verification_id.encode()).decode("ascii")


def generate_code(length: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


def new_verification_id() -> str:
    """A contract v2 id: `VE` + 32 random hex."""
    return "VE" + secrets.token_hex(16)


def new_v3_verification_id(dest_key: str) -> str:
    """A contract v3 id: `VE` + the destination key + 16 random hex (the id names its key)."""
    return "VE" + dest_key + secrets.token_hex(8)


def new_user_id() -> str:
    return "US" + secrets.token_hex(16)
