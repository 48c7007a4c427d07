"""The writer's TOML reads back (with tomllib) to the same table, for any values."""

from __future__ import annotations

import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.conditions.base import Condition
from routing.conditions.http_header import HttpHeader
from routing.conditions.path_pattern import PathPattern
from routing.conditions.query_string import QueryPair, QueryString
from routing.table.loader import parse_table
from routing.table.model import (
    ALGORITHMS,
    Action,
    FixedResponse,
    Forward,
    Redirect,
    RouteTable,
    Rule,
    TargetGroup,
)
from routing.table.toml_writer import dumps

TEXT = st.text(min_size=1, max_size=20)


@st.composite
def tables(draw: st.DrawFn) -> RouteTable:
    conditions: tuple[Condition, ...] = (
        PathPattern(tuple(draw(st.lists(TEXT, min_size=1, max_size=2)))),
        HttpHeader(draw(TEXT), (draw(TEXT),)),
        QueryString((QueryPair(draw(st.none() | TEXT), draw(TEXT)),)),
    )
    actions: tuple[Action, ...] = (Forward((("a b", draw(st.integers(0, 999))), ("c", 1)),
                       stickiness_seconds=draw(st.none() | st.integers(1, 604800))),
               FixedResponse(draw(st.integers(200, 599)), draw(TEXT), draw(st.text())),
               Redirect(302, draw(TEXT), draw(TEXT), "#{port}", draw(TEXT), ""))
    rules = tuple(Rule(f"rule-{i}", i + 1, conditions[: i + 1], action)
                  for i, action in enumerate(actions))
    # Target URLs: the table's list, held as one comma-joined text (commas separate targets).
    urls = ", ".join(draw(st.lists(TEXT.map(str.strip).filter(lambda u: u and "," not in u),
                                   max_size=3)))
    groups = (TargetGroup("a b", urls, "/h\"q", draw(st.sampled_from(ALGORITHMS))),
              TargetGroup("c", "x"))
    return RouteTable(groups, rules, draw(st.sampled_from(actions)))


@settings(max_examples=60, deadline=None)
@given(tables())
def test_any_table_survives_a_round_trip(table: RouteTable) -> None:
    assert parse_table(tomllib.loads(dumps(table))) == table
