"""Write docs/storage-contract-vectors.json: the golden vectors of the storage contract.

A third, deliberately naive reading of docs/storage-contract.md. Run it only when the contract's
version changes; both implementations' tests compare their own code with its output.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PEPPER = "golden-pepper-do-not-use-in-production"
OUT = Path(__file__).resolve().parent.parent / "docs" / "storage-contract-vectors.json"


def mac(message: str) -> str:
    return hmac.new(PEPPER.encode(), message.encode(), hashlib.sha256).hexdigest()


def canonical(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def main() -> None:
    seal_key = hmac.new(PEPPER.encode(), b"seal-key|v1", hashlib.sha256).digest()
    codes = [
        {"code": code, "code_mac": mac(f"code|{code}")}
        for code in ["123456", "000000", "9876", "0123456789"]
    ]
    destinations = []
    for channel, given, normalized in [
        ("sms", "+14155550100", "+14155550100"),
        ("email", "Ada.Lovelace@Example.COM", "ada.lovelace@example.com"),
    ]:
        dest_hash = mac(f"dest|{channel}|{normalized}")[:32]
        destinations.append(
            {
                "channel": channel,
                "to": given,
                "normalized_to": normalized,
                "dest_hash": dest_hash,
                "pending_key": f"vfy:pending:{dest_hash}",
                "dest_limit_key": f"vfy:rl:dest:{dest_hash}",
            }
        )
    ips = []
    for ip in ["203.0.113.7", "2001:db8::1"]:
        ip_hash = mac(f"ip|{ip}")[:32]
        ips.append({"ip": ip, "ip_hash": ip_hash, "ip_limit_key": f"vfy:rl:ip:{ip_hash}"})
    idem = []
    for key in ["order-42-attempt-1", "9b2c6f0e-5d1a-4c53-9a4e-0d1f3b8c7e21"]:
        idem_hash = mac(f"idem|{key}")[:32]
        idem.append(
            {"idempotency_key": key, "idem_hash": idem_hash, "key": f"vfy:idem:{idem_hash}"}
        )
    bodies = []
    for body in [
        {"to": "+14155550100", "channel": "sms"},
        {"channel": "email", "to": "ada@example.com", "locale": "pt-BR"},
        {"to": "+14155550100", "channel": "sms", "locale": "\u00e9t\u00e9"},
    ]:
        text = canonical(body)
        bodies.append(
            {
                "method": "POST",
                "path": "/api/verifications",
                "body": body,
                "canonical_json": text,
                "request_hash": mac(f"body|POST /api/verifications|{text}"),
            }
        )
    seals = []
    for vid, code, nonce_hex in [
        ("VE0123456789abcdef0123456789abcdef", "123456", "000102030405060708090a0b"),
        ("VEffffffffffffffffffffffffffffffff", "0123456789", "a0a1a2a3a4a5a6a7a8a9aaab"),
    ]:
        nonce = bytes.fromhex(nonce_hex)
        sealed = nonce + AESGCM(seal_key).encrypt(nonce, code.encode(), vid.encode())
        seals.append(
            {
                "verification_id": vid,
                "code": code,
                "nonce_hex": nonce_hex,
                "code_sealed": base64.urlsafe_b64encode(sealed).rstrip(b"=").decode(),
                "record_key": f"vfy:ver:{vid}",
            }
        )
    vectors = {
        "contract_version": 1,
        "pepper": PEPPER,
        "seal_key_hex": seal_key.hex(),
        "codes": codes,
        "destinations": destinations,
        "client_ips": ips,
        "idempotency_keys": idem,
        "request_bodies": bodies,
        "seals": seals,
        "streams": {
            "outbox": "vfy:outbox",
            "outbox_group": "dispatchers",
            "dead_letter": "vfy:outbox:dead",
            "events": "vfy:events",
            "monolith_events_group": "monolith-users",
        },
        "timestamps": [
            {"ms": 0, "rendered": "1970-01-01T00:00:00.000Z"},
            {"ms": 1795883589120, "rendered": "2026-11-28T16:33:09.120Z"},
            {"ms": 1795883589007, "rendered": "2026-11-28T16:33:09.007Z"},
        ],
    }
    OUT.write_text(json.dumps(vectors, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
