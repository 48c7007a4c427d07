"""`query-string`: key/value pairs, case-insensitive with wildcards; the key is optional."""

from __future__ import annotations

from routing.conditions.query_string import QueryPair, QueryString

from .helpers import hit, shadow_count


def test_query_string_pairs_case_insensitive_with_wildcards() -> None:
    cond = (QueryString((QueryPair("Version", "2*"), QueryPair(None, "beta"))),)
    assert hit(cond, query=(("version", "2.1"),))
    assert hit(cond, query=(("anything", "BETA"),))
    assert not hit(cond, query=(("version", "1"),))


def test_query_coverage() -> None:
    q = QueryString((QueryPair(None, "*"),))
    q2 = QueryString((QueryPair("v", "2"),))
    assert shadow_count(q, q2) == 1
    assert shadow_count(q2, q) == 0
