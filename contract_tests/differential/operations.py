"""The fuzzer's operations: abstract, so that one operation means the same on every side.

An operation names destinations from a small pool (`phone0`, `email1`, …), verifications by the
order they first appeared (`#0`, `#1`, …), client IPs and end-user IPs by name; each side (side.py)
fills in its own values. An operation acts as one of two clients (`client` 0 is --api-key's, 1 is
--api-key-b's): a verification one created is read, checked and canceled by the other too, and an
Idempotency-Key one sent is sent by the other. Strategies draw them, weighted so that cheap
requests are common and the ones that wait on the clock are rare.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st

# The pool, by name. `plus` starts with `+` (an email address all the same, docs/api.md:
# "so `+tag@example.com` is an email address"); `tag` carries a `+tag` sub-address.
PHONES = ("phone0", "phone1")
EMAILS = ("email0", "email1", "plus0", "tag0")
DESTINATIONS = PHONES + EMAILS
CLIENT_IPS = 2  # per side; each side's own addresses
CLIENTS = ("a", "b")  # by index: the client of --api-key, the client of --api-key-b

# Odd but meaningful values, kept readable in reproductions.
LOCALES: tuple[Any, ...] = ("<absent>", None, "en", "pt-BR", "EN", "", 5)
CHANNELS = ("natural", "other", "fax", "<absent>")
IDEMPOTENCY_KEYS = (None, "key0", "key1", "<empty>", "<256 chars>", "<with space>")
FORWARDED_FOR = ("plain", "via trusted proxy", "junk on the left", "padded")
# "other client's": the code the other client got for the same destination (a check must not
# approve one client's verification with the code of another's).
CODES = ("right", "wrong", "short", "letters", "as number", "too long", "<absent>",
         "other client's")
REFERENCES: tuple[str | int, ...] = (0, 1, 2, -1, "unknown", "malformed", "uppercase hex")
# A send's `reference` (docs/api.md: 1-64 printable ASCII, 0x20-0x7E; null means absent), as sent:
# the same on every side, and returned exactly as given.
PRINTABLE_PUNCTUATION = "".join(chr(c) for c in range(0x20, 0x7F) if not chr(c).isalnum())
SEND_REFERENCES: tuple[Any, ...] = (
    "<absent>", None, "order-1", "r" * 64, "r" * 65, "r" * 63 + " ", "", " ",
    PRINTABLE_PUNCTUATION, "tab\there", "del\x7f", "unit\x1fsep", "nul\x00", "caf\u00e9",
    "ref\n", 42, ["order-1"],
)
# A send's `end_user_ip`, by name; each side fills in its own addresses (side.py), which last the
# whole run so that the sends naming them add up to the IP limit (VERIFY_IP_LIMIT). The first
# group counts as the side's end-user IPv4, the second as its end-user IPv6 /64; the rest are
# invalid (`400`, field `end_user_ip`) and count nothing.
END_USER_IPS_V4 = ("ipv4", "ipv4-mapped ipv6")
END_USER_IPS_V6 = ("ipv6", "ipv6 upper-case", "ipv6 exploded", "ipv6 same /64")
END_USER_IPS_INVALID = ("ipv4 leading zeros", "ipv4-mapped leading zeros", "ipv4 with port",
                        "ipv4 cidr", "ipv6 in brackets", "ipv6 with zone", "unknown", "empty",
                        "trailing newline", "as number")
END_USER_IPS: tuple[str | None, ...] = (
    "<absent>", None, *END_USER_IPS_V4, *END_USER_IPS_V6, *END_USER_IPS_INVALID)
RAW_BODIES = (
    "malformed json", "array", "text/plain", "no content-type", "charset parameter",
    "uppercase media type", "oversized", "duplicate member", "unknown member", "null member",
    "trailing newline", "not utf-8", "nested object", "empty body",
)
RAW_METHODS = ("PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Send:
    dest: str
    upper: bool = False
    channel: str = "natural"
    locale: Any = "<absent>"
    idempotency_key: str | None = None
    ip: int = 0
    forwarded_for: str = "plain"
    client: int = 0
    reference: Any = "<absent>"
    end_user_ip: str | None = "<absent>"

    def describe(self) -> str:
        parts = [f"{_as(self.client)}send to {self.dest}{' (upper-cased)' if self.upper else ''}",
                 f"channel {self.channel}"]
        if self.locale != "<absent>":
            parts.append(f"locale {self.locale!r}")
        if self.reference != "<absent>":
            parts.append(f"reference {_shown(self.reference)}")
        if self.end_user_ip != "<absent>":
            parts.append(f"end_user_ip {self.end_user_ip or 'null'}")
        if self.idempotency_key:
            parts.append(f"Idempotency-Key {self.idempotency_key}")
        parts.append(f"from ip{self.ip}" + (f" ({self.forwarded_for} X-Forwarded-For)"
                                             if self.forwarded_for != "plain" else ""))
        return ", ".join(parts)


@dataclass(frozen=True)
class Check:
    by: str  # "id" or "to"
    ref: str | int  # a destination name (by to) or a verification reference (by id)
    code: str = "right"
    upper: bool = False
    ip: int = 0
    client: int = 0

    def describe(self) -> str:
        target = (f"verification {_ref(self.ref)}" if self.by == "id"
                  else f"to {self.ref}{' (upper-cased)' if self.upper else ''}")
        return f"{_as(self.client)}check {target} with the {self.code} code from ip{self.ip}"


@dataclass(frozen=True)
class Cancel:
    ref: str | int
    with_body: bool = False
    client: int = 0

    def describe(self) -> str:
        return (f"{_as(self.client)}cancel {_ref(self.ref)}"
                + (" (with a junk body)" if self.with_body else ""))


@dataclass(frozen=True)
class Read:
    ref: str | int
    trailing_slash: bool = False
    client: int = 0

    def describe(self) -> str:
        return (f"{_as(self.client)}read {_ref(self.ref)}"
                + (" (path with a trailing /)" if self.trailing_slash else ""))


@dataclass(frozen=True)
class Raw:
    endpoint: str  # "send" or "check"
    body: str  # one of RAW_BODIES
    dest: str = "phone0"

    def describe(self) -> str:
        return f"{self.endpoint} with a {self.body} body (to {self.dest})"


@dataclass(frozen=True)
class Method:
    endpoint: str  # "send", "check", "read", "cancel"
    method: str

    def describe(self) -> str:
        return f"{self.method} on the {self.endpoint} route"


@dataclass(frozen=True)
class Churn:
    """Send and cancel, `times` over: fills a destination's rate-limit window in one step, and
    with an `end_user_ip` adds `times` to that IP's count (most of what brings it to the limit)."""

    dest: str
    times: int
    client: int = 0
    end_user_ip: str = "<absent>"

    def describe(self) -> str:
        return (f"{_as(self.client)}send to {self.dest}"
                + (f" (end_user_ip {self.end_user_ip})" if self.end_user_ip != "<absent>" else "")
                + f" and cancel it, {self.times} times")


@dataclass(frozen=True)
class Wait:
    until: str  # "cooldown" (every resend cooldown over) or "expiry" (every code expired)

    def describe(self) -> str:
        return f"wait until every {self.until} has passed"


Operation = Send | Check | Cancel | Read | Raw | Method | Churn | Wait


def _ref(ref: str | int) -> str:
    return f"#{ref}" if isinstance(ref, int) else f"an id that is {ref}"


def _as(client: int) -> str:
    return f"client {CLIENTS[client]}: "


def _shown(value: Any) -> str:
    """A value as a reproduction shows it: long strings by their length."""
    if isinstance(value, str) and len(value) > 24:
        return f"{value[:8]!r}…({len(value)} chars, ends {value[-1]!r})"
    return "null" if value is None else repr(value)


clients = st.integers(0, len(CLIENTS) - 1)
sends = st.builds(
    Send, dest=st.sampled_from(DESTINATIONS), upper=st.booleans(),
    channel=st.sampled_from(("natural",) * 6 + CHANNELS[1:]),
    locale=st.sampled_from(("<absent>",) * 4 + LOCALES[1:]),
    idempotency_key=st.sampled_from((None,) * 3 + IDEMPOTENCY_KEYS[1:]),
    ip=st.integers(0, CLIENT_IPS - 1),
    forwarded_for=st.sampled_from(("plain",) * 4 + FORWARDED_FOR[1:]),
    client=clients,
    reference=st.sampled_from(("<absent>",) * 8 + SEND_REFERENCES[1:]),
    # The valid ones often enough that each group reaches the IP limit within a default run.
    end_user_ip=st.sampled_from(("<absent>",) * 8 + (None,) + END_USER_IPS_V4 * 2
                                + END_USER_IPS_V6 + END_USER_IPS_INVALID),
)
checks = st.builds(
    Check, by=st.sampled_from(("id", "to")),
    ref=st.sampled_from(DESTINATIONS + REFERENCES),
    code=st.sampled_from(("right", "right", "wrong", "wrong", *CODES[2:])),
    upper=st.booleans(), ip=st.integers(0, CLIENT_IPS - 1), client=clients,
).map(lambda c: _consistent_check(c))
cancels = st.builds(Cancel, ref=st.sampled_from(REFERENCES), with_body=st.booleans(),
                    client=clients)
reads = st.builds(Read, ref=st.sampled_from(REFERENCES),
                  trailing_slash=st.sampled_from((False, False, False, True)), client=clients)
raws = st.builds(Raw, endpoint=st.sampled_from(("send", "check")),
                 body=st.sampled_from(RAW_BODIES), dest=st.sampled_from(DESTINATIONS))
methods = st.builds(Method, endpoint=st.sampled_from(("send", "check", "read", "cancel")),
                    method=st.sampled_from(RAW_METHODS))
churns = st.builds(Churn, dest=st.sampled_from(DESTINATIONS), times=st.integers(2, 11),
                   client=clients,
                   # each group as often (the v4 one has half the names)
                   end_user_ip=st.sampled_from(("<absent>",) * 2 + END_USER_IPS_V4 * 2
                                               + END_USER_IPS_V6))
# Waiting for expiry costs the whole code TTL: one wait in twenty.
waits = st.builds(Wait, until=st.sampled_from(("cooldown",) * 19 + ("expiry",)))

# Weights, as repetitions: about one step in forty waits on the clock.
_WEIGHTED = ((sends, 12), (checks, 12), (cancels, 3), (reads, 3), (raws, 3), (methods, 1),
             (churns, 1), (waits, 1))
OPERATIONS: st.SearchStrategy[Operation] = st.sampled_from(
    [index for index, (_, weight) in enumerate(_WEIGHTED) for _ in range(weight)]
).flatmap(lambda index: _WEIGHTED[index][0])


def _consistent_check(check: Check) -> Check:
    """By `to` takes a destination, by id a reference: map a drawn one to the other kind."""
    if check.by == "to" and check.ref not in DESTINATIONS:
        index = REFERENCES.index(check.ref)
        return replace(check, ref=DESTINATIONS[index % len(DESTINATIONS)])
    if check.by == "id" and check.ref in DESTINATIONS:
        return replace(check, ref=DESTINATIONS.index(str(check.ref)) % 3)
    return check
