"""Every registered field reads back what it writes, renders to ALB's shape and describes itself."""

from __future__ import annotations

import pytest

from routing.conditions.base import Condition
from routing.conditions.host_header import HostHeader
from routing.conditions.http_header import HttpHeader
from routing.conditions.http_request_method import HttpRequestMethod
from routing.conditions.path_pattern import PathPattern
from routing.conditions.query_string import QueryPair, QueryString
from routing.conditions.registry import FIELDS
from routing.conditions.source_ip import SourceIp

SAMPLES: dict[str, Condition] = {c.field: c for c in (
    PathPattern(("/api/*",)), HostHeader(("api.example.com",)),
    HttpHeader("X-Backend", ("services",)), HttpRequestMethod(("POST",)),
    QueryString((QueryPair("v", "2*"), QueryPair(None, "beta"))), SourceIp(("10.0.0.0/8",)))}


def test_every_field_has_a_sample_here() -> None:
    assert set(SAMPLES) == set(FIELDS)


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_a_field_reads_what_it_writes_and_is_valid(name: str) -> None:
    sample = SAMPLES[name]
    problems: list[tuple[str, str]] = []
    read = FIELDS[name].from_toml(sample.to_toml(), lambda at, msg: problems.append((at, msg)))
    assert read == sample and problems == []
    assert sample.problems() == [] and sample.value_count() >= 1


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_a_field_renders_its_alb_shape_and_covers_itself(name: str) -> None:
    sample = SAMPLES[name]
    rendered = sample.api()
    assert rendered["Field"] == name and len(rendered) == 2
    [config] = [k for k in rendered if k.endswith("Config")]
    assert rendered[config]["Values"]
    assert sample.covers(sample)
    assert not any(sample.covers(other) for other in SAMPLES.values() if other is not sample)
    assert sample.text()


def test_a_shape_problem_names_the_field_inside_the_condition() -> None:
    problems: list[tuple[str, str]] = []
    assert HttpHeader.from_toml({"values": "x"}, lambda at, msg: problems.append((at, msg))) \
        == HttpHeader("", ())
    assert problems == [("name", "must be a string"), ("values", "must be a list of strings")]
