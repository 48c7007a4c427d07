"""One Redis user per component: the commands and key patterns each may use, declared once.

Read by the cache stack (an `AWS::ElastiCache::User` per component, its `AccessString` rendered
here) and by tests/integration/infra/test_redis_acl.py, which creates these users on a real Redis
and runs each component's own code under its own user. An access string is only safe once run:
a command or key a component needs and this list lacks fails in production with `NOPERM`.

How Redis checks (7.0 and Valkey, as ElastiCache runs them):
- every command a Lua script runs (`redis.call`) is checked against the calling user, with the keys
  it names, whether or not the script declared them in KEYS;
- EVALSHA itself checks its KEYS, and as read-write (Redis cannot know what the script does with
  them), so a key a script only reads still needs a read-write pattern here;
- the scripts pass the empty string for an unused KEYS slot (no Idempotency-Key, an email's SMS
  guards, a check by id): the empty key name is granted by the empty pattern (`~`, EMPTY_KEY).
Version 3 (docs/storage-contract.md "Version 3") adds its keys beside version 2's, which stay
granted while version-2 data can exist (the migration): `vfy3:{b<bucket>}:…`, one bucket tag per
client's destination. A glob treats `{` and `}` as plain characters, and a client name holds
neither, so `vfy3:{b*}:d:*` matches exactly the record keys of every bucket. In cluster mode
(REDIS_CLUSTER=1) each client also reads the slot map (CLUSTER SLOTS, COMMAND at start) and
sends ASKING before a command redirected by ASK while a slot moves; those are granted always
(on a single node they are never sent).
Source of each list: docs/storage-contract.md and the code it names (monolith/store.py, users.py,
users_store.py, events.py, monolith/lua/; services/verification/store.py, scripts.py, lua/;
services/dispatcher/outbox.py, lua/settle.lua); every component pings Redis (readiness probes,
redis-py's health checks) and loads its scripts with SCRIPT LOAD (only on NOSCRIPT, or at start).

Syntax kept to what ElastiCache documents for Redis OSS 7 / Valkey 7.2+ access strings (on/off,
`~pattern`, `%R~pattern`, `-@all`, `+command`, `+command|subcommand`); no `reset`, no passwords.
"""

from __future__ import annotations

from dataclasses import dataclass

# The empty key name: the scripts' unused KEYS slots (see the module docstring).
EMPTY_KEY = ""
# The ElastiCache user group must hold a user named "default" (the engine's unauthenticated user):
# this one is off and may do nothing, so a connection must authenticate as a component.
DEFAULT_USER_NAME = "default"
DEFAULT_ACCESS_STRING = "off -@all"

CONNECTION = ("ping",)  # readiness probes and redis-py's health checks
# redis-py's cluster clients: the slot map and command table at start and after a failover, and
# ASKING before a command an ASK redirection sends to the slot's new node.
CLUSTER_CLIENT = ("cluster|slots", "command", "asking")
SCRIPTS = ("evalsha", "script|load")  # EVALSHA, and SCRIPT LOAD on NOSCRIPT (never EVAL)

# What the contract's scripts run (both sides' send, check and cancel scripts; the monolith's
# also read a version-1 record's owner with HEXISTS, the services' with HGET).
SEND_SCRIPT = ("time", "get", "pttl", "hgetall", "hget", "hmget", "hset", "hincrby", "hdel",
               "set", "incr", "pexpire", "xadd")
CHECK_SCRIPT = ("time", "get", "hget", "hmget", "hset", "hincrby", "incr", "del", "pttl",
                "pexpire", "xadd")
CANCEL_SCRIPT = ("time", "hmget", "hgetall", "hset", "get", "del", "pexpire", "xadd")
READ = ("hgetall", "time")  # a read: HGETALL and TIME in one pipeline
# What version 3 adds: the packed record rewritten whole (SET … KEEPTTL / PX), the retained
# hash (HSET, HGET, HDEL of expired fields), the cluster mode's reserves and refunds (INCR, DECR,
# HINCRBY) and idempotency marker (SET NX PX, DEL on a refusal); a read is GET, HGET and TIME.
SEND_SCRIPT_V3 = ("set", "get", "hget", "hgetall", "hset", "hdel", "hexists", "incrby", "decr",
                  "del", "pexpire", "pexpireat", "pttl", "xadd")
CHECK_SCRIPT_V3 = ("set", "get", "hget", "hincrby", "incr", "pexpire", "xadd")
CANCEL_SCRIPT_V3 = ("set", "get", "hget", "xadd", "pexpire")
READ_V3 = ("get", "hget", "time")

RECORDS = "vfy:ver:*"
PENDING = "vfy:pending:*"
LIMITS = "vfy:rl:*"  # every counter: destination, IP, client, failed checks, prefix, global SMS
FAILED_CHECKS = "vfy:rl:fail:*"
GUARDS = "vfy:fg:*"  # the prefix tallies and blocks
# A tally only (`vfy:fg:{prefix_hash}`, 32 hex digits), not a block (`vfy:fg:block:{hash}`).
TALLIES = "vfy:fg:" + "?" * 32
IDEMPOTENCY = "vfy:idem:*"
OUTBOX = "vfy:outbox"
DEAD_LETTERS = "vfy:outbox:dead"
EVENTS = "vfy:events"
USERS = "users:*"  # the monolith's own users area

# Version 3: every key of a client's destination and its bucket's streams share `{b<bucket>}`.
V3_RECORDS = "vfy3:{b*}:d:*"  # the packed record of a client's newest verification
V3_RETAINED = "vfy3:{b*}:f:*"  # retained finished records
V3_FAILED_CHECKS = "vfy3:{b*}:fail:*"
V3_OUTBOXES = "vfy3:{b*}:outbox"  # the 64 buckets' delivery streams
V3_EVENTS = "vfy3:{b*}:events"  # the 64 buckets' event streams
V3_VERIFICATIONS = (V3_RECORDS, V3_RETAINED, V3_FAILED_CHECKS)


@dataclass(frozen=True)
class RedisUser:
    component: str  # infra.components name; also the Redis user name
    commands: tuple[str, ...]  # allowed commands (`name` or `name|subcommand`), all else denied
    keys: tuple[str, ...]  # read-write key patterns
    read_keys: tuple[str, ...] = ()  # read-only key patterns (%R~)

    @property
    def name(self) -> str:
        return self.component

    @property
    def access_string(self) -> str:
        rules = ["on", *(f"~{pattern}" for pattern in self.keys),
                 *(f"%R~{pattern}" for pattern in self.read_keys), "-@all",
                 *(f"+{command}" for command in sorted(set(self.commands)))]
        return " ".join(rules)


def _user(component: str, *commands: tuple[str, ...], keys: tuple[str, ...],
          read_keys: tuple[str, ...] = ()) -> RedisUser:
    merged = tuple(sorted({c for group in (CONNECTION, CLUSTER_CLIENT, *commands)
                           for c in group}))
    return RedisUser(component, merged, keys, read_keys)


USERS_BY_COMPONENT: dict[str, RedisUser] = {user.component: user for user in (
    # The legacy app: the whole API (both sides' scripts' keys) and its users area (a MULTI of
    # HSET and PEXPIRE per new user; GET of a pending index, DEL of an idempotency record).
    _user("monolith", SCRIPTS, SEND_SCRIPT, CHECK_SCRIPT, CANCEL_SCRIPT, READ, SEND_SCRIPT_V3,
          CHECK_SCRIPT_V3, CANCEL_SCRIPT_V3, READ_V3, ("hexists", "multi", "exec", "del"),
          keys=(RECORDS, PENDING, LIMITS, GUARDS, IDEMPOTENCY, OUTBOX, EVENTS, USERS,
                *V3_VERIFICATIONS, V3_OUTBOXES, V3_EVENTS, EMPTY_KEY)),
    # The monolith's consumer of vfy:events and the 64 buckets' (group monolith-users): marks
    # users verified with HGET and the mark_verified script (HGET, HSET). No record, no outbox.
    _user("events", SCRIPTS,
          ("xgroup|create", "xinfo|groups", "xreadgroup", "xautoclaim", "xack", "pexpire",
           "hget", "hset"),
          keys=(EVENTS, V3_EVENTS, USERS)),
    # Delivery: its group on the outboxes, settling (the settle script: XACK, XDEL), dead letters
    # (a MULTI of XADD, PEXPIRE, XACK, XDEL), and the record's status, read only (a version-3
    # record with GET: the entry's `client` and id name its key); its backlog gauges (XLEN, and
    # XRANGE of the oldest unread entry).
    _user("dispatcher", SCRIPTS,
          ("xgroup|create", "xgroup|delconsumer", "xinfo|groups", "xinfo|consumers",
           "xreadgroup", "xpending", "xclaim", "xack", "xdel", "xadd", "pttl", "pexpire",
           "multi", "exec", "hmget", "time", "get", "xlen", "xrange"),
          keys=(OUTBOX, V3_OUTBOXES, DEAD_LETTERS), read_keys=(RECORDS, V3_RECORDS)),
    # Sends (send script), reads and cancels (cancel script); it writes the outboxes, never
    # reads them. Version 3's send judges the failed-checks counter, so it declares that key.
    _user("send", SCRIPTS, SEND_SCRIPT, CANCEL_SCRIPT, READ, SEND_SCRIPT_V3, CANCEL_SCRIPT_V3,
          READ_V3,
          keys=(RECORDS, PENDING, LIMITS, GUARDS, IDEMPOTENCY, OUTBOX, EVENTS,
                *V3_VERIFICATIONS, V3_OUTBOXES, V3_EVENTS, EMPTY_KEY)),
    # Checks (check script, then version 3's one-key tally script): no outbox (it cannot make
    # the dispatcher send anything), no send limit, no prefix block, no idempotency record.
    _user("verify", SCRIPTS, CHECK_SCRIPT, CHECK_SCRIPT_V3,
          keys=(RECORDS, PENDING, FAILED_CHECKS, TALLIES, EVENTS, *V3_VERIFICATIONS, V3_EVENTS,
                EMPTY_KEY)),
)}


def user_for(component: str) -> RedisUser:
    try:
        return USERS_BY_COMPONENT[component]
    except KeyError:
        raise KeyError(f"no Redis user for {component!r}; declared: "
                       f"{sorted(USERS_BY_COMPONENT)}") from None
