"""`python -m routing show|check|shift|promote|rollback|render|verify|apply`."""

from __future__ import annotations

import sys

from routing.cli.parser import build_parser
from routing.table import store
from routing.table.loader import load_table
from routing.table.problems import TableError


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.table = store.table_path(args.table)
    args.audit_log = store.audit_path(args.table, args.audit_log)
    try:
        table = load_table(args.table)
        return int(args.handler(args, table))
    except TableError as error:
        for problem in error.problems:
            print(f"error: {args.table}: {problem}", file=sys.stderr)
        return 1
    except (KeyError, ValueError, OSError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 1
