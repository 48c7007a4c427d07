"""`verify` and `apply`: the table against a live ALB listener (see routing/alb/live.py)."""

from __future__ import annotations

import argparse
import sys

from routing.alb.live import Live, apply_weights, client, differences
from routing.table.model import RouteTable


def cmd_verify(args: argparse.Namespace, table: RouteTable) -> int:
    live = Live(client(args.region), args.listener_arn, args.tg_name_prefix)
    found = differences(table, live)
    for line in found:
        print(f"drift: {line}")
    print(f"{len(found)} difference(s) between {args.table} and {args.listener_arn}",
          file=sys.stderr if found else sys.stdout)
    return 1 if found else 0


def cmd_apply(args: argparse.Namespace, table: RouteTable) -> int:
    live = Live(client(args.region), args.listener_arn, args.tg_name_prefix)
    for name, weights in apply_weights(table, live):
        print(f"applied {name}: {weights}")
    return cmd_verify(args, table)
