"""`python -m infra build [-o build/cfn] [--routes TABLE]`: write the templates."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra import routes, stacks
from routing.table.problems import TableError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write the CloudFormation templates as JSON")
    build.add_argument("-o", "--output", type=Path, default=Path("build/cfn"))
    build.add_argument("--routes", type=Path, default=routes.table_path(),
                       help="route table rendered into listener rules (default: "
                       "$ROUTING_TABLE or routing/routes.toml)")
    args = parser.parse_args(argv)
    try:
        written = stacks.write_all(args.output, args.routes)
    except TableError as error:
        print(f"route table {args.routes} is invalid: {error}\n"
              "check it with: python -m routing check", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"cannot build templates: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
