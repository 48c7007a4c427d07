"""The request body parser: orjson's fast result only where it is the standard library's, and
duplicate members and NaN / Infinity refused at any depth, as before."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.web import json_body
from services.web.json_body import parse_json


def reference(raw: bytes) -> Any:
    """The parse the services always did: the standard library with the duplicate check."""
    return json.loads(raw.decode("utf-8"), parse_constant=json_body._reject_constant,
                      object_pairs_hook=json_body._unique_members)


def outcome(parse: Any, raw: bytes) -> tuple[str, Any]:
    try:
        value = parse(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return ("refused", None)
    return ("parsed", json.dumps(value, sort_keys=True))  # exact: types and big ints included


REFUSED = [
    b'{"to":"+14155550100","to":"+14155550101"}',
    b'{"a":{"b":1,"b":2}}',
    b'[{"x":1},{"y":{"z":[{"k":1,"k":1}]}}]',
    b'{"a:b":1,"a:b":2}',  # a colon in the duplicated name
    b'{"to":"a:b","to":"c"}',
    b'{"\\u0061":1,"a":2}',  # the same name, once escaped
    b'{"a":1,"\\u0061":2}',
    b'{"a":NaN}', b'{"a":Infinity}', b'{"a":-Infinity}', b'NaN',
    b'{', b'', b'{"a":1,}', b'\xef\xbb\xbf{}', b'{"a":"\xff"}', b'[' * 5000 + b']' * 5000,
]
PARSED = [
    b'{"to":"+14155550100","channel":"sms"}',
    b'{"a":"x:y:z","b":{"c:d":["e:f",":"]}}',
    b'{"code":"123456","to":"+14155550100","channel":"sms"}',
    b'{"n":123456789012345678901234567890}',  # exact, not orjson's float
    b'{"n":18446744073709551616,"m":-9223372036854775809}',
    b'{"f":1.5,"g":1e400}',  # the standard library's inf, as before
    b'{"s":"\\ud800"}',  # a lone surrogate, as before
    b'{"a":"\\u003a","b":1}',
    b' { "a" : 1 , "b" : [ ] } ', b'[]', b'"x"', b'42', b'null', b'{"":0}',
]


@pytest.mark.parametrize("raw", REFUSED)
def test_refused_as_before(raw: bytes) -> None:
    assert outcome(parse_json, raw) == ("refused", None) == outcome(reference, raw)


@pytest.mark.parametrize("raw", PARSED)
def test_parsed_as_before(raw: bytes) -> None:
    assert outcome(parse_json, raw) == outcome(reference, raw)
    assert outcome(parse_json, raw)[0] == "parsed"


def test_big_integer_stays_exact() -> None:
    assert parse_json(b'{"n":123456789012345678901234567890}') == {
        "n": 123456789012345678901234567890}
    assert math.isinf(parse_json(b"1e400"))


NAMES = st.sampled_from(["a", "b", "a:b", ":", "to", "\u00e9"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from(["x", ":", "a:b:"]))
VALUES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.lists(st.tuples(NAMES, children), max_size=4)), max_leaves=12)


def encode(value: Any) -> str:
    """JSON text in which a list of pairs is an object, duplicates kept."""
    if isinstance(value, list) and value and all(isinstance(p, tuple) for p in value):
        return "{" + ",".join(f"{json.dumps(k)}:{encode(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(v) for v in value) + "]"
    return json.dumps(value)


@given(VALUES, st.booleans())
def test_any_document_parses_as_the_standard_library_does(value: Any, escaped: bool) -> None:
    text = encode(value)
    raw = text.encode() if not escaped else text.replace('"a', '"\\u0061').encode()
    assert outcome(parse_json, raw) == outcome(reference, raw)
