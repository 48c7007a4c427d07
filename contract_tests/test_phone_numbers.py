"""SMS destinations are real mobile numbers of permitted countries (docs/api.md "Phone numbers").

Refused numbers answer before any Redis work, so the fixed numbers below (libphonenumber's
types and regions) spend no rate limit; every number that is sent to is fresh.
"""

from __future__ import annotations

import secrets

import pytest

from contract_tests.client import Api
from contract_tests.fresh import fresh_ip, fresh_phone
from contract_tests.policy import Policy
from contract_tests.problems import assert_check, assert_problem, assert_verification

PREMIUM_RATE = "+19005550123"
TOLL_FREE = "+18005550123"
SIERRA_LEONE_MOBILE = ("+23276123456", "SL")


def fresh_french_mobile() -> str:
    """+33 61 then 7 digits: French mobile numbers (tests/unit/contract/test_fresh_phones.py)."""
    return f"+3361{secrets.randbelow(10**7):07d}"


def require_france(policy: Policy) -> None:
    if not policy.permits_sms_to("FR"):
        pytest.skip(f"VERIFY_SMS_COUNTRIES={','.join(policy.sms_countries)} does not permit FR")


@pytest.mark.parametrize("to", ["+15550100999", "+19995551234", "+1234567", "+123456789012345"])
def test_an_e164_shaped_number_that_is_not_valid_is_invalid(api: Api, to: str) -> None:
    assert_problem(api.send(to, "sms"), "invalid_parameter", "to")
    assert_problem(api.check("123456", to=to), "invalid_parameter", "to")


@pytest.mark.parametrize("to", [PREMIUM_RATE, TOLL_FREE, "+18885550123"],
                         ids=["premium rate", "toll free 800", "toll free 888"])
def test_sms_is_refused_to_numbers_that_are_not_mobile(api: Api, to: str) -> None:
    assert_problem(api.send(to, "sms"), "unsupported_number_type", "to")


def test_a_refused_number_counts_nowhere(api: Api, policy: Policy) -> None:
    """Refused before Redis: more refusals than the IP limit still leave the IP's budget whole."""
    policy.require_count(policy.ip_limit + 1, "VERIFY_IP_LIMIT")
    client = api.with_ip(fresh_ip())
    for _ in range(policy.ip_limit):
        assert_problem(client.send(PREMIUM_RATE, "sms"), "unsupported_number_type", "to")
    assert_verification(client.send(fresh_phone(), "sms"), 201)


def test_a_check_of_a_refused_number_finds_no_verification(api: Api) -> None:
    """No verification can exist for it: a check by `to` is the 404 of none pending."""
    assert_problem(api.check("123456", to=PREMIUM_RATE), "not_found")
    assert_problem(api.check("123456", to=TOLL_FREE), "not_found")


def test_sms_to_a_country_that_is_not_permitted_is_refused(api: Api, policy: Policy) -> None:
    to, region = SIERRA_LEONE_MOBILE
    if policy.permits_sms_to(region):
        pytest.skip(f"VERIFY_SMS_COUNTRIES={','.join(policy.sms_countries)} permits {region}")
    assert_problem(api.send(to, "sms"), "geo_not_permitted", "to")
    assert_problem(api.check("123456", to=to), "not_found")  # none can be pending


def test_a_permitted_mobile_is_sent_and_returned_in_e164(api: Api, policy: Policy) -> None:
    require_france(policy)
    to = fresh_french_mobile()
    created, code = api.start(to, "sms")
    assert (created["to"], created["channel"], created["status"]) == (to, "sms", "pending")
    assert assert_check(api.check(code, to=to))["status"] == "approved"


def test_a_number_written_with_its_national_prefix_is_one_destination(
    api: Api, policy: Policy
) -> None:
    """`+33 0 6…` is `+33 6…`: stored, returned and looked up in canonical E.164."""
    require_france(policy)
    to = fresh_french_mobile()
    created = assert_verification(api.send(to.replace("+33", "+330"), "sms"), 201)
    assert created["to"] == to
    # The same destination either way: a send of the canonical form is a resend (too soon).
    assert_problem(api.send(to, "sms"), "resend_cooldown")
    code = api.inbox.wait_new_code(to)
    result = assert_check(api.check(code, to=to.replace("+33", "+330")))
    assert (result["verification_id"], result["to"], result["status"]) == (
        created["id"], to, "approved")


def test_fresh_us_mobiles_are_sent(api: Api) -> None:
    to = fresh_phone()
    created = assert_verification(api.send(to, "sms"), 201)
    assert created["to"] == to
