"""The writer's TOML reads back (with tomllib) to the same table, for any values."""

from __future__ import annotations

import tomllib
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.loader import load_table, parse_table
from routing.model import (
    Action,
    Condition,
    FixedResponse,
    Forward,
    QueryPair,
    Redirect,
    RouteTable,
    Rule,
    TargetGroup,
)
from routing.toml_writer import dumps

TEXT = st.text(min_size=1, max_size=20)


@st.composite
def tables(draw: st.DrawFn) -> RouteTable:
    conditions = (
        Condition("path-pattern", tuple(draw(st.lists(TEXT, min_size=1, max_size=2)))),
        Condition("http-header", (draw(TEXT),), header_name=draw(TEXT)),
        Condition("query-string", pairs=(QueryPair(draw(st.none() | TEXT), draw(TEXT)),)),
    )
    actions: tuple[Action, ...] = (Forward((("a b", draw(st.integers(0, 999))), ("c", 1)),
                       stickiness_seconds=draw(st.none() | st.integers(1, 604800))),
               FixedResponse(draw(st.integers(200, 599)), draw(TEXT), draw(st.text())),
               Redirect(302, draw(TEXT), draw(TEXT), "#{port}", draw(TEXT), ""))
    rules = tuple(Rule(f"rule-{i}", i + 1, conditions[: i + 1], action)
                  for i, action in enumerate(actions))
    return RouteTable((TargetGroup("a b", draw(TEXT), "/h\"q"), TargetGroup("c", "x")), rules,
                      draw(st.sampled_from(actions)))


@settings(max_examples=60, deadline=None)
@given(tables())
def test_any_table_survives_a_round_trip(table: RouteTable) -> None:
    assert parse_table(tomllib.loads(dumps(table))) == table


def test_shipped_file_is_exactly_what_the_writer_writes() -> None:
    path = Path("routing/routes.toml")
    assert dumps(load_table(path)) == path.read_text(encoding="utf-8")
