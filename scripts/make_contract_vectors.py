"""Write docs/storage-contract-vectors.json: the golden vectors of the storage contract.

A third, deliberately naive reading of docs/storage-contract.md. Run it only when the contract's
version changes; both implementations' tests compare their own code with its output. Version-3
cases sit under "v3"; the version-2 (and version-1) cases keep their old names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PEPPER = "golden-pepper-do-not-use-in-production"
CONTRACT_VERSION = 3
BUCKETS = 64  # version 3: outbox/events stream buckets and slot tags
CLIENTS = ["acme", "Beta_Corp-2"]  # client names: [A-Za-z0-9_-]{1,64}, used in key names as is
OUT = Path(__file__).resolve().parent.parent / "docs" / "storage-contract-vectors.json"


# Refused by both sides with `400 invalid_parameter` (field `to`), on send and on check by `to`.
INVALID_DESTINATIONS = [
    ("email", " ada@example.com"),  # no trimming: spaces make a value invalid
    ("email", "ada@example.com "),
    ("sms", " +14155550100"),
    ("sms", "+14155550100 "),
    ("email", "ada@b\u00fccher.example"),  # IDN in Unicode: send the A-label (xn--)
    ("email", "\u00e4da@example.com"),
    ("email", "ada@example"),
    ("sms", "+1 415 555 0100"),
    ("sms", "14155550100"),
    ("sms", "+15550100999"),  # the E.164 form, but not a valid number (unassigned range)
    ("sms", "+19995551234"),
]

# docs/api.md "Phone numbers": what a send with VERIFY_SMS_COUNTRIES at its documented default
# answers for each number (`created` or the problem code, always with field `to`); its type and
# region as libphonenumber names them. A check by `to` judges neither type nor country.
DEFAULT_SMS_COUNTRIES = "US,CA,GB,IE,DE,FR,ES,IT,NL,BE,AT,CH,SE,NO,DK,FI,PT,PL,AU,NZ"
SMS_SENDS: list[tuple[str, str, str, str, str]] = [
    # to, normalized_to, number type, region, outcome of a send
    ("+33612345678", "+33612345678", "MOBILE", "FR", "created"),
    ("+330612345678", "+33612345678", "MOBILE", "FR", "created"),  # national 0 dropped
    ("+14155550100", "+14155550100", "FIXED_LINE_OR_MOBILE", "US", "created"),
    ("+16475550123", "+16475550123", "FIXED_LINE_OR_MOBILE", "CA", "created"),
    ("+447400123456", "+447400123456", "MOBILE", "GB", "created"),
    ("+19005550123", "+19005550123", "PREMIUM_RATE", "US", "unsupported_number_type"),
    ("+18005550123", "+18005550123", "TOLL_FREE", "US", "unsupported_number_type"),
    ("+18885550123", "+18885550123", "TOLL_FREE", "US", "unsupported_number_type"),
    ("+33895123456", "+33895123456", "PREMIUM_RATE", "FR", "unsupported_number_type"),
    ("+445612345678", "+445612345678", "VOIP", "GB", "unsupported_number_type"),
    ("+447000123456", "+447000123456", "PERSONAL_NUMBER", "GB", "unsupported_number_type"),
    ("+15005550123", "+15005550123", "PERSONAL_NUMBER", "US", "unsupported_number_type"),
    ("+4930123456", "+4930123456", "FIXED_LINE", "DE", "unsupported_number_type"),
    ("+35391234567", "+35391234567", "FIXED_LINE", "IE", "unsupported_number_type"),
    ("+23276123456", "+23276123456", "MOBILE", "SL", "geo_not_permitted"),  # Sierra Leone
    ("+2347012345678", "+2347012345678", "MOBILE", "NG", "geo_not_permitted"),
    ("+447911123456", "+447911123456", "MOBILE", "GG", "geo_not_permitted"),  # Guernsey: not GB
    ("+447624123456", "+447624123456", "MOBILE", "IM", "geo_not_permitted"),  # Isle of Man
    ("+15550100999", "", "", "", "invalid_parameter"),  # not a valid number
]

# docs/api.md "Client IP", case by case: X-Forwarded-For headers (in order), the TCP peer, the
# TRUSTED_PROXIES setting and the client found.
PROXIES = "10.0.0.0/8, 2001:db8:ffff::/48"
CLIENT_IP_WALKS: list[tuple[list[str], str | None, str, str]] = [
    ([], "203.0.113.7", PROXIES, "203.0.113.7"),
    (["198.51.100.1"], "203.0.113.7", PROXIES, "203.0.113.7"),  # untrusted peer: header ignored
    (["198.51.100.1"], "10.0.0.5", "", "10.0.0.5"),  # nothing trusted: the peer
    (["198.51.100.1"], "10.0.0.5", PROXIES, "198.51.100.1"),
    (["1.1.1.1, 198.51.100.1"], "10.0.0.5", PROXIES, "198.51.100.1"),  # spoofed left part
    (["198.51.100.1, 10.1.2.3"], "10.0.0.5", PROXIES, "198.51.100.1"),  # two trusted hops
    (["1.1.1.1", "198.51.100.1"], "10.0.0.5", PROXIES, "198.51.100.1"),  # headers, in order
    (["198.51.100.1", "10.1.1.1"], "10.0.0.5", PROXIES, "198.51.100.1"),
    (["10.0.0.9, 10.0.0.8"], "10.0.0.5", PROXIES, "10.0.0.9"),  # all trusted: the leftmost
    ([], "10.0.0.5", PROXIES, "10.0.0.5"),
    ([""], "10.0.0.5", PROXIES, "10.0.0.5"),
    (["198.51.100.1,, ,"], "10.0.0.5", PROXIES, "198.51.100.1"),  # empty entries are skipped
    ([", 198.51.100.1"], "10.0.0.5", PROXIES, "198.51.100.1"),
    (["  198.51.100.1\t"], "10.0.0.5", PROXIES, "198.51.100.1"),  # spaces and tabs around
    (["unknown"], "10.0.0.5", PROXIES, "10.0.0.5"),  # not an address: the walk ends
    (["198.51.100.1, unknown"], "10.0.0.5", PROXIES, "10.0.0.5"),  # ... at the proxy to its right
    (["198.51.100.1, unknown, 10.0.0.7"], "10.0.0.5", PROXIES, "10.0.0.7"),
    (["unknown, 198.51.100.1"], "10.0.0.5", PROXIES, "198.51.100.1"),  # left of the client
    (["198.51.100.1, _hidden"], "10.0.0.5", PROXIES, "10.0.0.5"),  # RFC 7239 obfuscated node
    (["198.51.100.1:5678"], "10.0.0.5", PROXIES, "198.51.100.1"),  # a port is dropped
    (["[2001:db8::1]"], "10.0.0.5", PROXIES, "2001:db8::1"),
    (["[2001:db8::1]:443"], "10.0.0.5", PROXIES, "2001:db8::1"),
    (["2001:0DB8:0000:0000:0000:0000:0000:0001"], "10.0.0.5", PROXIES, "2001:db8::1"),
    (["::ffff:198.51.100.1"], "10.0.0.5", PROXIES, "198.51.100.1"),  # IPv4-mapped: IPv4
    (["[::ffff:198.51.100.1]:80"], "10.0.0.5", PROXIES, "198.51.100.1"),
    (["198.51.100.1"], "::ffff:10.0.0.5", PROXIES, "198.51.100.1"),  # a mapped peer too
    ([], "::ffff:203.0.113.7", "", "203.0.113.7"),
    (["198.51.100.1"], "2001:db8:ffff::9", PROXIES, "198.51.100.1"),
    (["198.51.100.1:"], "10.0.0.5", PROXIES, "10.0.0.5"),  # not addresses, each ends the walk
    (["[198.51.100.1]"], "10.0.0.5", PROXIES, "10.0.0.5"),
    (["198.51.100.01"], "10.0.0.5", PROXIES, "10.0.0.5"),
    (["198.51.100.1 203.0.113.9"], "10.0.0.5", PROXIES, "10.0.0.5"),
    (["fe80::1%eth0"], "10.0.0.5", PROXIES, "10.0.0.5"),
    (["2001:db8::1:443"], "10.0.0.5", PROXIES, "2001:db8::1:443"),  # unbracketed: no port
    ([], None, PROXIES, "0.0.0.0"),  # no IP peer (a Unix socket)
    (["198.51.100.1"], "", PROXIES, "0.0.0.0"),
]


def mac(message: str) -> str:
    return hmac.new(PEPPER.encode(), message.encode(), hashlib.sha256).hexdigest()


def render(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def canonical(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def example_records(dest: dict[str, Any], seal: dict[str, Any]) -> list[dict[str, Any]]:
    """A version-2 record (owned, with a reference) and a version-1 one (no client, no reference):
    the `vfy:ver:{id}` fields as Redis holds them, and the verification body each renders."""
    created, ttl = 1795883589120, 600_000
    base = {
        "id": seal["verification_id"], "to": dest["normalized_to"], "channel": dest["channel"],
        "locale": "", "status": "pending", "code_mac": mac(f"code|{seal['code']}"),
        "code_sealed": seal["code_sealed"], "dest_hash": dest["dest_hash"],
        "send_attempts": "1", "check_attempts": "0", "created_at": str(created),
        "expires_at": str(created + ttl), "last_sent_at": str(created),
    }
    sms = dest["channel"] == "sms"
    prefix_hash = mac(f"prefix|{dest['normalized_to'][:-4]}")[:32] if sms else ""
    v2 = {"v": "2", **base, "client": "acme", "reference": "order-42", "prefix_hash": prefix_hash}
    v1 = {"v": "1", **base}

    def body(fields: dict[str, str]) -> dict[str, Any]:
        return {"id": fields["id"], "to": fields["to"], "channel": fields["channel"],
                "locale": fields["locale"] or None, "reference": fields.get("reference") or None,
                "status": fields["status"], "send_attempts": int(fields["send_attempts"]),
                "check_attempts": int(fields["check_attempts"]),
                "created_at": render(int(fields["created_at"])),
                "expires_at": render(int(fields["expires_at"]))}

    return [
        {"version": 2, "key": f"vfy:ver:{v2['id']}", "fields": v2, "owner": "acme",
         "pending_key": f"vfy:pending:acme:{dest['dest_hash']}", "renders": body(v2)},
        {"version": 1, "key": f"vfy:ver:{v1['id']}", "fields": v1, "owner": None,
         "pending_key": f"vfy:pending:{dest['dest_hash']}", "renders": body(v1)},
    ]


def example_events(records: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The `verification.approved` entry each example record's approval writes (schema 2 always:
    a v1 record's carries an empty client), and a schema-1 entry as version 1 wrote it."""
    occurred_at = "1795883650000"
    events = []
    for record in records:
        fields = record["fields"]
        events.append({"schema": "2", "type": "verification.approved",
                       "verification_id": fields["id"], "channel": fields["channel"],
                       "dest_hash": fields["dest_hash"], "client": fields.get("client", ""),
                       "reference": fields.get("reference", ""), "occurred_at": occurred_at})
    fields = records[1]["fields"]
    events.append({"schema": "1", "type": "verification.approved",
                   "verification_id": fields["id"], "channel": fields["channel"],
                   "dest_hash": fields["dest_hash"], "occurred_at": occurred_at})
    return events


def sms_guard_vectors() -> dict[str, Any]:
    """The SMS-pumping guards' keys per number prefix, and bucket arithmetic of the conversion
    tally (docs/storage-contract.md "vfy:fg:{prefix_hash} fields")."""
    prefixes = []
    for to in ["+14155550123", "+14155559999", "+33612345678", "+447400123456"]:
        prefix = to[:-4]
        prefix_hash = mac(f"prefix|{prefix}")[:32]
        prefixes.append({"normalized_to": to, "number_prefix": prefix, "prefix_hash": prefix_hash,
                         "prefix_limit_key": f"vfy:rl:prefix:{prefix_hash}",
                         "tally_key": f"vfy:fg:{prefix_hash}",
                         "block_key": f"vfy:fg:block:{prefix_hash}"})
    buckets = []
    for now_ms, window_s in [(1795883589120, 86400), (1795883589120, 240), (3_599_999, 86400),
                             (3_600_000, 86400)]:
        bucket_ms = window_s * 1000 // 24
        bucket = now_ms // bucket_ms
        buckets.append({"now_ms": now_ms, "window_seconds": window_s, "bucket_ms": bucket_ms,
                        "bucket": bucket, "sent_field": f"s:{bucket}",
                        "approved_field": f"a:{bucket}", "oldest_counted_bucket": bucket - 23})
    return {"global_key": "vfy:rl:sms", "prefixes": prefixes, "tally_buckets": buckets}


def lp(text: str) -> str:
    """A length-prefixed field of the version-3 packed record: `{utf-8 byte count}:{text}`."""
    return f"{len(text.encode())}:{text}"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def v3_vectors(seal_key: bytes, destinations: list[dict[str, Any]]) -> dict[str, Any]:
    """docs/storage-contract.md "Version 3": destination keys, buckets, ids, key names, the
    version-3 seal, packed records (with what each renders) and a schema-3 event."""
    dest_keys = []
    for client in CLIENTS:
        for dest in destinations[:4]:
            dest_key = mac(f"dest-key|{client}|{dest['dest_hash']}")[:16]
            bucket = int(dest_key[0:2], 16) % BUCKETS
            tag = f"{{b{bucket}}}"
            dest_keys.append({
                "client": client, "channel": dest["channel"],
                "normalized_to": dest["normalized_to"], "dest_hash": dest["dest_hash"],
                "dest_key": dest_key, "bucket": bucket,
                "record_key": f"vfy3:{tag}:d:{client}:{dest_key}",
                "retained_key": f"vfy3:{tag}:f:{client}:{dest_key}",
                "failed_checks_key": f"vfy3:{tag}:fail:{client}:{dest_key}",
                "outbox": f"vfy3:{tag}:outbox", "events": f"vfy3:{tag}:events",
                "v2_pending_key": f"vfy:pending:{client}:{dest['dest_hash']}",
                "v2_failed_checks_key": f"vfy:rl:fail:{client}:{dest['dest_hash']}",
            })
    seals = []
    for entry, rand, code in [(dest_keys[0], "5f0e9a2c4b7d1e38", "123456"),
                              (dest_keys[2], "00000000000000ff", "0123456789")]:
        vid = f"VE{entry['dest_key']}{rand}"
        nonce = hmac.new(PEPPER.encode(), f"seal-nonce|{vid}".encode(), hashlib.sha256).digest()
        nonce = nonce[:12]
        sealed = AESGCM(seal_key).encrypt(nonce, code.encode(), vid.encode())
        seals.append({"verification_id": vid, "dest_key": entry["dest_key"], "rand": rand,
                      "code": code, "nonce_hex": nonce.hex(), "code_sealed": b64(sealed)})
    created, ttl = 1795883589120, 600_000
    records = []
    for seal, entry, locale, reference, status, sends, checks, offset in [
        (seals[0], dest_keys[0], "", "order-42", "p", 1, 0, 0),
        # free text holding the separators, and a finished record
        (seals[1], dest_keys[2], "pt-BR", "a|b:c|42", "a", 2, 1, 31_000),
    ]:
        code_mac = hmac.new(PEPPER.encode(), f"code|{seal['code']}".encode(),
                            hashlib.sha256).digest()
        channel = "s" if entry["channel"] == "sms" else "e"
        fields = [seal["rand"], lp(entry["normalized_to"]), channel, lp(locale), lp(reference),
                  status, b64(code_mac[:16]), seal["code_sealed"], str(sends), str(checks),
                  str(created), str(ttl), str(offset)]
        statuses = {"p": "pending", "a": "approved", "c": "canceled",
                    "m": "max_attempts_reached", "x": "expired"}
        records.append({
            "key": entry["record_key"], "client": entry["client"],
            "verification_id": seal["verification_id"], "code": seal["code"],
            "packed": "|".join(fields),
            "fields": {"rand": seal["rand"], "to": entry["normalized_to"],
                       "channel": entry["channel"], "locale": locale, "reference": reference,
                       "status": statuses[status], "code_mac16": b64(code_mac[:16]),
                       "code_sealed": seal["code_sealed"], "send_attempts": sends,
                       "check_attempts": checks, "created_at": created, "ttl": ttl,
                       "sent_offset": offset},
            "renders": {"id": seal["verification_id"], "to": entry["normalized_to"],
                        "channel": entry["channel"], "locale": locale or None,
                        "reference": reference or None, "status": statuses[status],
                        "send_attempts": sends, "check_attempts": checks,
                        "created_at": render(created), "expires_at": render(created + ttl)},
        })
    first = records[0]
    event = {"schema": "3", "type": "verification.approved",
             "verification_id": first["verification_id"], "channel": first["fields"]["channel"],
             "dest_key": dest_keys[0]["dest_key"], "client": first["client"],
             "reference": first["fields"]["reference"], "occurred_at": "1795883650000"}
    return {"buckets": BUCKETS, "dest_keys": dest_keys, "seals": seals, "records": records,
            "events": [event], "dead_letter": "vfy:outbox:dead", "tally_block_field": "block",
            "outbox_group": "dispatchers", "events_group": "monolith-users"}


def main() -> None:
    seal_key = hmac.new(PEPPER.encode(), b"seal-key|v1", hashlib.sha256).digest()
    codes = [
        {"code": code, "code_mac": mac(f"code|{code}")}
        for code in ["123456", "000000", "9876", "0123456789"]
    ]
    destinations = []
    for channel, given, normalized in [
        ("sms", "+14155550100", "+14155550100"),
        ("sms", "+330612345678", "+33612345678"),  # canonical E.164: the national 0 dropped
        ("email", "Ada.Lovelace@Example.COM", "ada.lovelace@example.com"),
        # An address may start with `+`: its channel is email (it holds an `@`).
        ("email", "+Tag@Example.com", "+tag@example.com"),
        ("email", "ada+tag@example.com", "ada+tag@example.com"),  # not ada@example.com
        ("email", "ada@xn--bcher-kva.example", "ada@xn--bcher-kva.example"),  # IDN as A-label
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
    for ip, subject in [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8::1", "2001:db8::/64"),  # IPv6 counts per /64
        ("2001:db8:0:1:ffff:ffff:ffff:ffff", "2001:db8:0:1::/64"),
        ("2001:db8:abcd:12::", "2001:db8:abcd:12::/64"),
    ]:
        ip_hash = mac(f"ip|{subject}")[:32]
        ips.append({"ip": ip, "ip_limit_subject": subject, "ip_hash": ip_hash,
                    "ip_limit_key": f"vfy:rl:ip:{ip_hash}"})
    idem_keys = ["order-42-attempt-1", "9b2c6f0e-5d1a-4c53-9a4e-0d1f3b8c7e21"]
    idem = []  # version 1: `idem|{key}`, read only (a v2 send never finds these)
    for key in idem_keys:
        idem_hash = mac(f"idem|{key}")[:32]
        idem.append({"version": 1, "idempotency_key": key, "idem_hash": idem_hash,
                     "key": f"vfy:idem:{idem_hash}"})
    idem_v2 = []  # version 2: `idem|{client}|{key}`; one key, two clients, two hashes
    for client in CLIENTS:
        for key in idem_keys:
            idem_hash = mac(f"idem|{client}|{key}")[:32]
            idem_v2.append({"version": 2, "client": client, "idempotency_key": key,
                            "idem_hash": idem_hash, "key": f"vfy:idem:{idem_hash}"})
    client_keys = []
    for client in CLIENTS:
        for dest in destinations[:3]:
            dest_hash = dest["dest_hash"]
            client_keys.append({
                "client": client,
                "channel": dest["channel"],
                "normalized_to": dest["normalized_to"],
                "dest_hash": dest_hash,
                "pending_key": f"vfy:pending:{client}:{dest_hash}",
                "v1_pending_key": f"vfy:pending:{dest_hash}",
                "failed_checks_key": f"vfy:rl:fail:{client}:{dest_hash}",
                "client_limit_key": f"vfy:rl:client:{client}",
                "dest_limit_key": f"vfy:rl:dest:{dest_hash}",
            })
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
    records = example_records(destinations[0], seals[0])
    vectors = {
        "contract_version": CONTRACT_VERSION,
        "reads_versions": [2, CONTRACT_VERSION],
        "pepper": PEPPER,
        "seal_key_hex": seal_key.hex(),
        "codes": codes,
        "destinations": destinations,
        "invalid_destinations": [
            {"channel": channel, "to": to} for channel, to in INVALID_DESTINATIONS
        ],
        "sms_sends": {
            "sms_countries": DEFAULT_SMS_COUNTRIES,
            "numbers": [
                {"to": to, "normalized_to": normalized, "number_type": kind, "region": region,
                 "send": outcome}
                for to, normalized, kind, region, outcome in SMS_SENDS
            ],
        },
        "client_ips": ips,
        "client_ip_walks": [
            {"forwarded_for": headers, "peer": peer, "trusted_proxies": trusted, "client": client}
            for headers, peer, trusted, client in CLIENT_IP_WALKS
        ],
        "idempotency_keys": idem,
        "idempotency_keys_v2": idem_v2,
        "client_keys": client_keys,
        "sms_guards": sms_guard_vectors(),
        "records": records,
        "events": example_events(records),
        "request_bodies": bodies,
        "seals": seals,
        "streams": {
            "outbox": "vfy:outbox",
            "outbox_group": "dispatchers",
            "dead_letter": "vfy:outbox:dead",
            "events": "vfy:events",
            "monolith_events_group": "monolith-users",
        },
        "v3": v3_vectors(seal_key, destinations),
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
