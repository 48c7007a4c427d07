"""The live table routing/routes.toml itself: valid and in the writer's layout. Only facts that hold
at any weights are checked here (the CLI shifts it); everything else uses tables/*.toml."""

from __future__ import annotations

from pathlib import Path

from routing.table.loader import load_table
from routing.table.toml_writer import dumps

SHIPPED = Path("routing/routes.toml")


def test_shipped_table_is_valid() -> None:
    table = load_table(SHIPPED)
    assert [r.name for r in table.by_priority][:3] == [
        "pin-monolith", "pin-services-verifications", "pin-services-verification-checks"]


def test_shipped_file_is_exactly_what_the_writer_writes() -> None:
    assert dumps(load_table(SHIPPED)) == SHIPPED.read_text(encoding="utf-8")
