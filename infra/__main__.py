"""`python -m infra build [-o build/cfn] [--routes TABLE] [--compact]`: write the templates.
`python -m infra components [--where ecs|image|local]`: the declared processes' names, one a line.
`python -m infra compose`: the compose file (infra/compose.yaml) generated from them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra import compose, routes, stacks
from infra.components import ALL_COMPONENTS, IMAGE_COMPONENTS, Where
from routing.table.problems import TableError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write the CloudFormation templates as JSON")
    build.add_argument("-o", "--output", type=Path, default=Path("build/cfn"))
    build.add_argument("--routes", type=Path, default=routes.table_path(),
                       help="route table rendered into listener rules (default: "
                       "$ROUTING_TABLE or routing/routes.toml)")
    build.add_argument("--compact", action="store_true",
                       help="no indentation (what deploy.sh deploys: CloudFormation takes at "
                       f"most {stacks.TEMPLATE_BODY_LIMIT} bytes of template body)")
    listing = commands.add_parser("components", help="the declared processes, one a line")
    listing.add_argument("--where", choices=[w.value for w in Where],
                         help="only those running there (ecs: deployed; image: built)")
    commands.add_parser("compose", help="print the compose file generated from the components")
    args = parser.parse_args(argv)
    if args.command == "components":
        for name in component_names(args.where):
            print(name)
        return 0
    if args.command == "compose":
        print(compose.render(), end="")
        return 0
    try:
        written = stacks.write_all(args.output, args.routes, compact=args.compact)
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


def component_names(where: str | None) -> list[str]:
    if where == Where.IMAGE.value:  # everything with an image, deployed or not
        return [c.name for c in IMAGE_COMPONENTS]
    return [c.name for c in ALL_COMPONENTS if where is None or c.where.value == where]


if __name__ == "__main__":
    sys.exit(main())
