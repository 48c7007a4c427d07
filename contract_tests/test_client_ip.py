"""The client IP that the IP limit counts (docs/api.md "The client IP"), seen over HTTP only.

Each test spends one client's whole IP budget (`VERIFY_IP_LIMIT` sends to fresh destinations)
under several spellings of that client, then shows the budget is spent for the plain spelling
and untouched for another client. The suite's own client is a trusted proxy of the stack under
test (it sets `X-Forwarded-For` to a fresh fake IP per test); the last test connects from an
address that is not.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest

from contract_tests.client import Api
from contract_tests.fresh import fresh_ip, fresh_ipv6_network, fresh_loopback_ip, fresh_phone
from contract_tests.policy import Policy
from contract_tests.problems import assert_problem, assert_verification, describe

SENDERS = 8  # sends in flight at once: the budget is spent in seconds, not minutes


def send_as(api: Api, forwarded_for: str) -> httpx.Response:
    return api.send(fresh_phone(), "sms", headers={"X-Forwarded-For": forwarded_for})


def spend_budget(api: Api, policy: Policy, spellings: Sequence[str]) -> None:
    """`VERIFY_IP_LIMIT` sends, the spellings in turn; every one is created (201)."""
    policy.require_count(policy.ip_limit + 3, "VERIFY_IP_LIMIT")
    turns = [spellings[n % len(spellings)] for n in range(policy.ip_limit)]
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        responses = list(pool.map(lambda spelling: send_as(api, spelling), turns))
    refused = [f"{spelling!r}:{describe(r)}" for spelling, r in zip(turns, responses, strict=True)
               if r.status_code != 201]
    assert not refused, f"{len(refused)} of {len(turns)} sends refused:" + "".join(refused[:3])


def assert_budget_spent(api: Api, forwarded_for: str, counted_as: str) -> None:
    response = send_as(api, forwarded_for)
    assert response.status_code == 429, (
        f"a send as {forwarded_for!r} was not counted in the spent budget of {counted_as}"
        f"{describe(response)}")
    assert_problem(response, "rate_limited")


def test_one_client_under_any_spelling_has_one_budget(api: Api, policy: Policy) -> None:
    client = fresh_ip()
    # (HTTP drops the spaces around a header's value, so they are tried between entries.)
    spend_budget(api, policy, [
        client, f"198.18.0.0 ,\t{client}", f"{client}:5678", f"{client},", f",,{client}",
        f"unknown, {client}", f"[::ffff:{client}]:443",
    ])
    assert_budget_spent(api, client, client)
    assert_verification(send_as(api, fresh_ip()), 201)  # another client is not limited


def test_an_ipv4_mapped_address_counts_as_its_ipv4_address(api: Api, policy: Policy) -> None:
    client = fresh_ip()
    spend_budget(api, policy, [f"::ffff:{client}", f"::FFFF:{client}",
                               f"[::ffff:{client}]"])
    assert_budget_spent(api, client, f"::ffff:{client}")
    assert_verification(send_as(api, fresh_ip()), 201)


def test_ipv6_clients_of_one_64_share_a_budget(api: Api, policy: Policy) -> None:
    network = fresh_ipv6_network()
    first, last = network[1], network[-1]
    spelled_out = first.exploded.upper()
    spend_budget(api, policy, [str(first), f"[{network[0x1234]}]:443", spelled_out,
                               f"[{last}]"])
    other_address = network[0xDEAD_BEEF]
    assert_budget_spent(api, str(other_address), str(network))
    neighbour = ipaddress.IPv6Network((int(network.network_address) + (1 << 64), 64))
    assert_verification(send_as(api, str(neighbour[1])), 201)  # the next /64 is another client


def is_ipv4_loopback(host: str) -> bool:
    try:
        return ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture
def untrusted_client(api: Api) -> Iterator[tuple[Api, str]]:
    """The suite's client, connecting from a fresh loopback address that is not trusted.

    Fresh per test (not always 127.0.0.2): every target of one run shares one Redis, and a fixed
    address would find its budget spent by the previous target.
    """
    host = urlsplit(api.urls.send).hostname or ""
    if not is_ipv4_loopback(host):
        pytest.skip(f"connecting from another loopback address needs the target on an IPv4 "
                    f"loopback address, not {host!r}")
    address = fresh_loopback_ip()
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(timeout=api.http.timeout, transport=transport) as http:
        yield dataclasses.replace(api, http=http), address


def test_a_client_that_is_not_a_trusted_proxy_cannot_choose_its_ip(
    api: Api, policy: Policy, untrusted_client: tuple[Api, str]
) -> None:
    """Sends from an untrusted peer, each claiming a fresh IP, all count against the peer."""
    client, address = untrusted_client
    policy.require_count(policy.ip_limit + 3, "VERIFY_IP_LIMIT")
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        responses = list(pool.map(lambda _: send_as(client, fresh_ip()), range(policy.ip_limit)))
    for response in responses:
        assert_verification(response, 201)
    assert_problem(send_as(client, fresh_ip()), "rate_limited")
    # Counted as exactly that address: named by a trusted proxy, it is the spent budget too.
    assert_budget_spent(api, address, address)
    assert_verification(send_as(api, fresh_ip()), 201)
