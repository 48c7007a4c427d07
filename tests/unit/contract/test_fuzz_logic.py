"""The fuzzer's own logic, without servers: noise measured, views compared, operations rendered."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import httpx
import pytest

from contract_tests.client import Urls
from contract_tests.differential import fuzz, fuzz_cli
from contract_tests.differential.fuzz import (
    FuzzConfig,
    KnownDivergence,
    StepRecord,
    Target,
    reproduction,
)
from contract_tests.differential.noise import Normaliser, RawView
from contract_tests.differential.noise_ledger import NoiseLedger
from contract_tests.differential.operations import (
    END_USER_IPS_INVALID,
    END_USER_IPS_V4,
    END_USER_IPS_V6,
    PRINTABLE_PUNCTUATION,
    SEND_REFERENCES,
    Check,
    Raw,
    Read,
    Send,
)
from contract_tests.differential.scenario import Exchange
from contract_tests.differential.side import EndUserAddresses, Outcome, Request, Side
from contract_tests.differential.views import differences, view_of, where_of
from contract_tests.policy import Policy

URLS = Urls(send="http://send", check="http://check", users="http://users", inbox="http://inbox")
CREATED = "2026-11-28T16:23:09.120Z"


def outcome(vid: str, to: str, *, created: str = CREATED, retry_after: str | None = None,
            message_code: str = "123456", event_hash: str = "ab" * 16) -> Outcome:
    body = {"id": vid, "to": to, "channel": "sms", "locale": None, "status": "pending",
            "send_attempts": 1, "check_attempts": 0, "created_at": created,
            "expires_at": "2026-11-28T16:23:17.120Z"}
    headers = {"content-type": "application/json", "location": f"/api/verifications/{vid}"}
    if retry_after:
        headers["retry-after"] = retry_after
    request = Request("send", "POST", "/api/verifications", {}, b"{}", "phone0")
    return Outcome(request, Exchange("send", 201, headers, body),
                   messages=[{"channel": "sms", "to": to, "from": None, "subject": None,
                              "body": f"Your verification code is {message_code}."}],
                   events=[{"schema": "2", "type": "verification.approved",
                            "verification_id": vid, "channel": "sms", "dest_hash": event_hash,
                            "occurred_at": "1796155300565"}])


def views(o: Outcome, to: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return (view_of(o, Normaliser({to: "phone0"}), events_compared=True),
            view_of(o, RawView(), events_compared=True))


A = outcome("VE" + "a" * 32, "+15550000001", message_code="111111", event_hash="aa" * 16)
A2 = outcome("VE" + "c" * 32, "+15550000003", message_code="333333", event_hash="cc" * 16)
B = outcome("VE" + "b" * 32, "+15550000002", message_code="222222", event_hash="bb" * 16)


def test_side_effects_are_compared_after_the_noise_rules() -> None:
    (norm_a, _), (norm_b, _) = views(A, "+15550000001"), views(B, "+15550000002")
    assert differences(norm_a, norm_b) == []
    assert norm_a["message#1.body"] == "Your verification code is <code:6 digits>."
    assert norm_a["message#1.to"] == "<phone0>"
    assert norm_a["event#1.destination"] == "<hash#1>"
    assert norm_a["event#1.occurred_at"] == "<ms>"


def test_a_different_side_effect_shows() -> None:
    norm_a, _ = views(A, "+15550000001")
    other = outcome("VE" + "b" * 32, "+15550000002", message_code="1234")  # 4 digits, not 6
    other.events[0]["type"] = "verification.canceled"
    lines = differences(norm_a, views(other, "+15550000002")[0])
    assert any("message#1.body" in line for line in lines)
    assert any("event#1.type" in line for line in lines)
    assert differences(norm_a, {**norm_a, "messages": 2})


def test_where_of_maps_view_keys_to_rules() -> None:
    assert where_of("header location") == "header.location"
    assert where_of("message#12.to") == "message.to"
    assert where_of("event#1.destination") == "event.destination"
    assert where_of("body.id") == "body.id"


def observe(ledger: NoiseLedger, a: Outcome, a2: Outcome, b: Outcome) -> None:
    (norm_a, raw_a), (_, raw_a2), (norm_b, raw_b) = (
        views(a, a.exchange.body["to"]), views(a2, a2.exchange.body["to"]),
        views(b, b.exchange.body["to"]))
    ledger.observe(raw_a, raw_a2, raw_b, norm_a, norm_b)


def test_rules_that_differ_between_a_and_a_prime_are_confirmed() -> None:
    ledger = NoiseLedger()
    observe(ledger, A, A2, B)
    for where in ("body.id", "body.to", "header.location", "message.to", "message.body",
                  "event.verification_id", "event.destination"):
        assert ledger.confirmed[where] == 1, where
    assert ledger.stale() == []
    assert "confirmed" in ledger.report()


def test_a_rule_that_hides_what_a_and_a_prime_never_show_is_stale() -> None:
    """created_at equal on A and A' but not on B: the time mask hid a difference -> stale."""
    ledger = NoiseLedger()
    late_b = outcome("VE" + "b" * 32, "+15550000002", created="2026-11-28T16:23:10.120Z")
    observe(ledger, A, A2, late_b)
    assert "body.created_at" in ledger.stale()
    assert "STALE" in ledger.report()


def retry_afters(ledger: NoiseLedger, a: str, a2: str, b: str) -> None:
    observe(ledger, outcome("VE" + "a" * 32, "+15550000001", retry_after=a),
            outcome("VE" + "c" * 32, "+15550000003", retry_after=a2),
            outcome("VE" + "b" * 32, "+15550000002", retry_after=b))


def test_retry_after_tolerance_is_stale_once_it_hid_many_and_none_was_confirmed() -> None:
    ledger = NoiseLedger()
    retry_afters(ledger, "5", "5", "5")
    retry_afters(ledger, "5", "5", "6")
    assert ledger.hid["header.retry-after"] == 1
    assert "header.retry-after" not in ledger.stale()  # one second boundary crossed by chance
    for _ in range(9):
        retry_afters(ledger, "5", "5", "6")
    assert "header.retry-after" in ledger.stale()  # a systematic off-by-one
    retry_afters(ledger, "5", "6", "5")
    assert "header.retry-after" not in ledger.stale()


def side() -> Side:
    return Side("A", URLS, httpx.Client(), Policy.from_env({}), 1.0)


def test_sides_draw_disjoint_destinations_and_ips() -> None:
    one, two = side(), side()
    assert not set(one.pool.values()) & set(two.pool.values())
    assert not set(one.ips) & set(two.ips)
    assert one.pool["plus0"].startswith("+") and "@" in one.pool["plus0"]


def test_operations_render_with_the_sides_own_values() -> None:
    s = side()
    [send] = s.render(Send("email0", upper=True, locale="pt-BR", idempotency_key="key0", ip=1,
                           forwarded_for="via trusted proxy"))
    body = json.loads(send.content or b"")
    assert body == {"to": s.pool["email0"].upper(), "channel": "email", "locale": "pt-BR"}
    assert send.headers["X-Forwarded-For"] == f"{s.ips[1]}, 127.0.0.1"
    assert send.headers["Idempotency-Key"].endswith("key0")
    [read] = s.render(Read(0, trailing_slash=True))  # no id seen yet: a well-formed unknown one
    assert read.path == f"/api/verifications/{s.unknown_id}/"
    [check] = s.render(Check("to", "phone1", code="as number"))
    assert json.loads(check.content or b"") == {"to": s.pool["phone1"], "code": 0}
    [raw] = s.render(Raw("send", "oversized"))
    assert len(raw.content or b"") > s.policy.max_body_bytes


def test_known_divergences_name_their_operations(monkeypatch: pytest.MonkeyPatch) -> None:
    known = KnownDivergence("plus-check", "a check by to = +...@", lambda op: op == Check("to",
                                                                                      "plus0"))
    monkeypatch.setattr(fuzz, "KNOWN_DIVERGENCES", (known,))
    config = FuzzConfig(Target(URLS, ({}, {})), Target(URLS, ({}, {})), Policy.from_env({}))
    assert config.known_divergence(Check("to", "plus0")) is known
    assert config.known_divergence(Check("to", "tag0")) is None
    played = FuzzConfig(Target(URLS, ({}, {})), Target(URLS, ({}, {})), Policy.from_env({}),
                        include_known=frozenset({known.key}))
    assert played.known_divergence(Check("to", "plus0")) is None


def test_the_reproduction_shows_every_step_and_both_responses() -> None:
    text = reproduction([StepRecord("send to phone0", {"A": [A], "B": [B]})],
                        ["    status:  A 201  /  B 400"])
    assert "1. send to phone0" in text
    assert "A: POST /api/verifications" in text and "B: POST /api/verifications" in text
    assert "delivered:" in text and "event:" in text


def test_end_user_ips_are_what_their_names_say() -> None:
    """Each valid name counts as the side's end-user IPv4 or its IPv6 /64 (as docs/api.md and the
    storage contract's ip_limit_subject read it); each invalid one breaks a rule of docs/api.md."""
    addresses = EndUserAddresses()
    for name in END_USER_IPS_V4:
        parsed = ipaddress.ip_address(addresses.render(name))
        mapped = getattr(parsed, "ipv4_mapped", None)
        assert str(mapped or parsed) == addresses.ipv4, name
    for name in END_USER_IPS_V6:
        parsed = ipaddress.ip_address(addresses.render(name))
        assert ipaddress.IPv6Network((parsed, 64), strict=False) == addresses.ipv6, name
    for name in END_USER_IPS_INVALID:
        value = addresses.render(name)
        if not isinstance(value, str):
            continue  # not a string: invalid by its type
        if "%" not in value:  # Python's ipaddress takes a zone; docs/api.md refuses it
            with pytest.raises(ValueError):
                ipaddress.ip_address(value)
    assert isinstance(addresses.render("as number"), int)
    assert addresses.render(None) is None
    leading = addresses.render("ipv4 leading zeros").split(".")
    assert leading[1].startswith("0") and len(leading[1]) == 3
    assert addresses.render("ipv6 with zone").endswith("%eth0")
    # Another side's addresses are disjoint from these (a run-wide IP count must be per side).
    other = EndUserAddresses()
    assert other.ipv4 != addresses.ipv4 and other.ipv6 != addresses.ipv6


def test_references_cover_both_edges_of_the_rule() -> None:
    printable = [r for r in SEND_REFERENCES if isinstance(r, str) and r != "<absent>"
                 and 1 <= len(r) <= 64 and all(0x20 <= ord(c) <= 0x7E for c in r)]
    assert {64, 1} <= {len(r) for r in printable}
    assert "r" * 65 in SEND_REFERENCES and "" in SEND_REFERENCES and None in SEND_REFERENCES
    assert any(isinstance(r, str) and any(ord(c) < 0x20 or ord(c) > 0x7E for c in r)
               for r in SEND_REFERENCES)
    assert len(PRINTABLE_PUNCTUATION) == 33 and " " in PRINTABLE_PUNCTUATION


def test_a_send_carries_its_clients_key_reference_and_end_user_ip() -> None:
    s = Side("A", URLS, httpx.Client(), Policy.from_env({}), 1.0,
             client_headers=({"Authorization": "Bearer ka"}, {"Authorization": "Bearer kb"}))
    [send] = s.render(Send("phone0", client=1, reference="r" * 64,
                           end_user_ip="ipv4-mapped ipv6"))
    assert send.headers["Authorization"] == "Bearer kb" and send.client == 1
    assert json.loads(send.content or b"") == {
        "to": s.pool["phone0"], "channel": "sms", "end_user_ip": f"::ffff:{s.end_user.ipv4}",
        "reference": "r" * 64}
    [nulls] = s.render(Send("phone0", reference=None, end_user_ip=None))
    assert nulls.headers["Authorization"] == "Bearer ka"
    assert json.loads(nulls.content or b"") == {"to": s.pool["phone0"], "channel": "sms",
                                                "end_user_ip": None, "reference": None}
    [plain] = s.render(Send("phone0"))
    assert set(json.loads(plain.content or b"")) == {"to", "channel"}
    assert "[as client b]" in send.describe() and "Bearer" not in send.describe()


def test_the_right_code_is_the_owners_and_the_other_clients_is_the_others() -> None:
    s = side()
    vid = "VE" + "a" * 32
    s.ids, s.dest_of, s.owner_of = [vid], {vid: "phone0"}, {vid: 0}
    s.codes = {(0, "phone0"): "111111", (1, "phone0"): "222222"}

    def code(check: Check) -> Any:
        [request] = s.render(check)
        return json.loads(request.content or b"").get("code")

    # By id the creator's code, whoever checks: another client fails on ownership alone.
    assert code(Check("id", 0, "right", client=1)) == "111111"
    assert code(Check("id", 0, "other client's", client=0)) == "222222"
    # By `to` the caller's own, or the other client's for the same destination.
    assert code(Check("to", "phone0", "right", client=1)) == "222222"
    assert code(Check("to", "phone0", "other client's", client=1)) == "111111"
    assert code(Check("to", "phone1", "right", client=1)) == "000000"  # none sent: surely wrong


def test_the_fuzzer_needs_a_second_clients_key() -> None:
    policy = Policy.from_env({})
    for key_b in (None, "", "ka"):
        with pytest.raises(ValueError, match="api-key-b"):
            FuzzConfig.from_specs("http://a", "http://b", "http://inbox", None, policy, "ka",
                                  key_b)
    config = FuzzConfig.from_specs("http://a", "send=http://s,check=http://c,users=http://a",
                                   "http://inbox", None, policy, "ka", "kb")
    assert [h["Authorization"] for h in config.b.client_headers] == ["Bearer ka", "Bearer kb"]
    assert config.end_users["A"].ipv4 != config.end_users["B"].ipv4


def test_cli_refuses_to_run_without_the_second_key(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTRACT_API_KEY_B", raising=False)
    assert fuzz_cli.main(["--a", "http://a", "--b", "http://b", "--inbox-url", "http://i",
                          "--api-key", "ka"]) == 2
    assert "--api-key-b" in capsys.readouterr().err


def test_events_compare_their_client_and_reference() -> None:
    norm_a, _ = views(A, "+15550000001")
    other = outcome("VE" + "b" * 32, "+15550000002")
    other.events[0].update({"client": "beta", "reference": "order-1"})
    lines = differences(norm_a, views(other, "+15550000002")[0])
    assert any("event#1.client" in line for line in lines)
    assert any("event#1.reference" in line for line in lines)
