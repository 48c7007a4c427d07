"""The comparison itself: noise rules hide only what they name, and every other change shows."""

from __future__ import annotations

from typing import Any

from contract_tests.differential.compare import differences, normalise, parse_target
from contract_tests.differential.noise import Normaliser
from contract_tests.differential.scenario import Exchange

A_ID, B_ID = "VE" + "a" * 32, "VE" + "b" * 32


def verification(vid: str, to: str, created: str = "2026-11-28T16:23:09.120Z") -> dict[str, Any]:
    return {"id": vid, "to": to, "channel": "sms", "locale": None, "status": "pending",
            "send_attempts": 1, "check_attempts": 0, "created_at": created,
            "expires_at": "2026-11-28T16:33:09.120Z"}


def view(body: Any, to: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    exchange = Exchange("step", 201, {"content-type": "application/json", **(headers or {})}, body)
    return normalise(exchange, Normaliser({to: "phone1"}))


def test_ids_times_and_destinations_are_masked() -> None:
    a = view(verification(A_ID, "+15550000001"), "+15550000001",
             {"location": f"/api/verifications/{A_ID}", "retry-after": "5"})
    b = view(verification(B_ID, "+15550000002", "2026-11-28T16:23:09.120Z"), "+15550000002",
             {"location": f"/api/verifications/{B_ID}", "retry-after": "6"})
    assert differences(a, b) == []


def test_any_other_change_shows() -> None:
    base = verification(A_ID, "+15550000001")
    a = view(base, "+15550000001", {"retry-after": "5"})
    for change in ({"status": "approved"}, {"send_attempts": 2}, {"locale": ""}):
        assert differences(a, view({**base, **change}, "+15550000001", {"retry-after": "5"}))
    assert differences(a, view(base, "+15550000001", {"retry-after": "7"}))
    reordered = dict(reversed(list(base.items())))
    assert any("member order" in line for line in differences(
        a, view(reordered, "+15550000001", {"retry-after": "5"})))


def test_a_bad_time_or_lifetime_shows() -> None:
    base = verification(A_ID, "+15550000001")
    a = view(base, "+15550000001")
    assert differences(a, view({**base, "created_at": "2026-11-28T16:23:09Z"}, "+15550000001"))
    assert differences(a, view({**base, "expires_at": "2026-11-28T16:43:09.120Z"}, "+15550000001"))


def test_target_specs() -> None:
    urls, headers = parse_target("http://m:1", "http://inbox", None)
    assert (urls.send, urls.check, urls.users, urls.inbox) == ("http://m:1",) * 3 + ("http://inbox",)
    assert headers == {}
    urls, headers = parse_target("send=http://s,check=http://v,users=http://m,header=X-Backend:"
                                 "services", "http://inbox", "ak_1.s")
    assert (urls.send, urls.check, urls.users) == ("http://s", "http://v", "http://m")
    assert headers == {"Authorization": "Bearer ak_1.s", "X-Backend": "services"}
    _, headers = parse_target("base=http://m,header=Authorization:Bearer ak_2.t", "http://i",
                              "ak_1.s")
    assert headers == {"Authorization": "Bearer ak_2.t"}  # a side's own key wins
