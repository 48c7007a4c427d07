"""`./dev fuzz --a URL --b URL [--examples N] [--seed S] [--inbox-url URL] [--redis-url URL]
[--api-key KEY] [--api-key-b KEY]`.

A target is a base URL or `send=URL,check=URL[,users=URL][,header=Name:Value]`. The fuzzer acts as
two clients, on both targets: the key of `--api-key` (env CONTRACT_API_KEY; a target's
`header=Authorization:Bearer …` overrides it) and that of `--api-key-b` (env CONTRACT_API_KEY_B),
a key of another client. The policy (TTL, cooldown, limits) is read from the same environment
variables as the servers (policy.py). Exit 0
when A and B agree and every noise rule that hid something was confirmed, 1 otherwise (with the
reproduction), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys

from contract_tests.differential.fuzz import FuzzConfig, run_fuzz
from contract_tests.policy import Policy


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./dev fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="target A (also played twice: A and A')")
    parser.add_argument("--b", required=True, help="target B")
    parser.add_argument("--examples", type=int, default=100, help="sequences to try (100)")
    parser.add_argument("--seed", type=int, default=None,
                        help="a seed (default: derandomized, the same sequences every run)")
    parser.add_argument("--inbox-url", default=os.environ.get("CONTRACT_INBOX_URL"),
                        help="the dev inbox (env CONTRACT_INBOX_URL)")
    parser.add_argument("--redis-url", default=os.environ.get("CONTRACT_REDIS_URL"),
                        help="the shared Redis, to compare vfy:events (env CONTRACT_REDIS_URL); "
                             "without it events are not compared")
    parser.add_argument("--api-key", default=os.environ.get("CONTRACT_API_KEY"),
                        help="the API key <id>.<secret> sent to A and B (env CONTRACT_API_KEY)")
    parser.add_argument("--api-key-b", default=os.environ.get("CONTRACT_API_KEY_B"),
                        help="a key of another client, the fuzzer's second client (env "
                             "CONTRACT_API_KEY_B)")
    parser.add_argument("--include-known", action="append", default=[], metavar="KEY",
                        help="also play the operations of this fuzz.KNOWN_DIVERGENCES entry "
                             "(repeatable; `all` for every entry)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not args.api_key or not args.api_key_b:
        print("fuzz: every API request needs a key, and the fuzzer acts as two clients: pass "
              "--api-key <id>.<secret> and --api-key-b <id>.<secret> (or set CONTRACT_API_KEY "
              "and CONTRACT_API_KEY_B), keys of two clients; make them with ./dev keys create "
              "fuzz and ./dev keys create fuzz-b", file=sys.stderr)
        return 2
    try:
        config = FuzzConfig.from_specs(
            args.a, args.b, args.inbox_url, args.redis_url, Policy.from_env(), args.api_key,
            args.api_key_b,
            include_known=frozenset(args.include_known),
            delivery_timeout=float(os.environ.get("CONTRACT_DELIVERY_TIMEOUT", "10")))
    except ValueError as error:
        print(f"fuzz: {error}", file=sys.stderr)
        return 2
    report = run_fuzz(config, args.examples, args.seed)
    print(report.summary(), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
