"""Reduce an OpenAPI 3.1 document to what a client can observe, so two documents compare equal
exactly when they publish the same contract.

Dropped or unified, because they legitimately differ between a hand-written document and a
generated one: `$ref`s and component names (resolved inline), path parameter names, titles,
descriptions, summaries, examples, operation ids, tags, defaults (JSON Schema annotations),
`additionalProperties: true` (the default), nullable spelled `anyOf [X, {"type": "null"}]` versus
`type: [X, "null"]`, `const` versus a one-value `enum`, non-capturing `(?:` versus `(` groups in
patterns, and the order of `required`, `enum`, `oneOf`/`anyOf` branches and header names.
Everything else (types, patterns, enums, lengths, bounds, required members, status codes, media
types, header requirements) is kept and compared.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ANNOTATIONS = frozenset({
    "title", "description", "summary", "examples", "example", "default", "$comment",
    "operationId", "tags", "deprecated",
})
PATH_PARAMETER = re.compile(r"\{[^}/]+\}")
Json = Any


def resolve_refs(document: Json) -> Json:
    """A copy of the document with every local `$ref` replaced by what it points at."""

    def lookup(pointer: str) -> Json:
        if not pointer.startswith("#/"):
            raise ValueError(f"only local $refs are supported, got {pointer!r}")
        node = document
        for part in pointer[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def walk(node: Json, seen: tuple[str, ...]) -> Json:
        if isinstance(node, list):
            return [walk(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            pointer = node["$ref"]
            if pointer in seen:
                raise ValueError(f"recursive $ref {pointer!r} cannot be inlined")
            siblings = {key: value for key, value in node.items() if key != "$ref"}
            return walk({**lookup(pointer), **siblings}, (*seen, pointer))
        return {key: walk(value, seen) for key, value in node.items()}

    return walk(document, ())


def _canonical(node: Json) -> str:
    return json.dumps(node, sort_keys=True, separators=(",", ":"))


def _json_type(value: Json) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {str: "string", float: "number", list: "array", dict: "object"}[type(value)]


def _types(schema: dict[str, Json]) -> list[str]:
    declared = schema.get("type", [])
    return [declared] if isinstance(declared, str) else list(declared)


def _with_types(schema: dict[str, Json], types: list[str]) -> dict[str, Json]:
    unique = sorted(set(types))
    return {**schema, "type": unique[0] if len(unique) == 1 else unique}


def _fold_nullable(schema: dict[str, Json]) -> dict[str, Json]:
    """`anyOf`/`oneOf` of one schema and `{"type": "null"}` becomes one schema allowing null."""
    for keyword in ("anyOf", "oneOf"):
        branches = schema.get(keyword)
        if not isinstance(branches, list) or len(branches) != 2 or {"type": "null"} not in branches:
            continue
        other = next(branch for branch in branches if branch != {"type": "null"})
        rest = {key: value for key, value in schema.items() if key != keyword}
        if "type" not in other or set(other) & set(rest):
            continue
        return _with_types({**rest, **other}, [*_types(other), "null"])
    return schema


SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
SCHEMA_LISTS = frozenset({"oneOf", "anyOf", "allOf", "prefixItems"})
SCHEMA_VALUES = frozenset({
    "items", "not", "additionalProperties", "unevaluatedProperties", "contains",
    "propertyNames", "if", "then", "else",
})


def _normalise_children(key: str, value: Json) -> Json:
    if key in SCHEMA_MAPS and isinstance(value, dict):
        return {name: normalise_schema(child) for name, child in value.items()}
    if key in SCHEMA_LISTS and isinstance(value, list):
        return sorted((normalise_schema(child) for child in value), key=_canonical)
    if key in SCHEMA_VALUES:
        return normalise_schema(value)
    return value  # data, not a schema: enum values, required names, a pattern, a bound


def normalise_schema(node: Json) -> Json:
    if not isinstance(node, dict):
        return node  # a boolean schema
    schema = {key: value for key, value in node.items() if key not in ANNOTATIONS}
    if schema.pop("nullable", False) is True:  # OpenAPI 3.0 spelling
        schema = _with_types(schema, [*_types(schema), "null"])
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]
    if schema.get("additionalProperties") in (True, {}):
        del schema["additionalProperties"]
    schema = {key: _normalise_children(key, value) for key, value in schema.items()}
    schema = _fold_nullable(schema)
    if "enum" in schema:
        schema["enum"] = sorted(schema["enum"], key=_canonical)
        value_types = {_json_type(value) for value in schema["enum"]}
        if "type" not in schema and len(value_types) == 1:
            schema["type"] = value_types.pop()  # an enum of strings is a string
    if "type" in schema:
        schema = _with_types(schema, _types(schema))
    if "required" in schema:
        schema["required"] = sorted(schema["required"])
    if isinstance(schema.get("pattern"), str):
        schema["pattern"] = schema["pattern"].replace("(?:", "(")
    return schema


def route_key(path: str) -> str:
    """`/api/verifications/{verification_id}` and `.../{id}` are the same route."""
    return PATH_PARAMETER.sub("{}", path)


def _parameter(parameter: dict[str, Json], path: str) -> tuple[str, Json]:
    name = parameter["name"]
    if parameter["in"] == "path":  # names are free; the position is what a client sees
        name = f"path#{PATH_PARAMETER.findall(path).index('{' + name + '}')}"
    elif parameter["in"] == "header":
        name = name.lower()
    key = f"{parameter['in']}:{name}"
    return key, {
        "required": bool(parameter.get("required", False)),
        "schema": normalise_schema(parameter.get("schema", {})),
    }


def _content(content: dict[str, Json]) -> Json:
    return {media: normalise_schema(body.get("schema", {})) for media, body in content.items()}


def _response(response: dict[str, Json]) -> Json:
    headers = {
        name.lower(): {
            "required": bool(header.get("required", False)),
            "schema": normalise_schema(header.get("schema", {})),
        }
        for name, header in response.get("headers", {}).items()
    }
    return {"content": _content(response.get("content", {})), "headers": headers}


def normalise_operation(path: str, path_item: dict[str, Json], method: str) -> Json:
    operation = path_item[method]
    parameters = [*path_item.get("parameters", []), *operation.get("parameters", [])]
    body = operation.get("requestBody")
    return {
        "parameters": dict(sorted(_parameter(parameter, path) for parameter in parameters)),
        "requestBody": None if body is None else {
            "required": bool(body.get("required", False)),
            "content": _content(body.get("content", {})),
        },
        "responses": {
            str(status): _response(response)
            for status, response in sorted(operation["responses"].items(), key=lambda i: str(i[0]))
        },
    }


def normalise_routes(document: Json, routes: set[str]) -> dict[str, dict[str, Json]]:
    """{route: {method: normalised operation}} for the given routes found in the document."""
    resolved = resolve_refs(document)
    found: dict[str, dict[str, Json]] = {}
    for path, path_item in resolved.get("paths", {}).items():
        if route_key(path) in routes:
            found[route_key(path)] = {
                method: normalise_operation(path, path_item, method)
                for method in HTTP_METHODS if method in path_item
            }
    return found


def _short(node: Json, limit: int = 240) -> str:
    text = _canonical(node)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def differences(
    left: Json, right: Json, names: tuple[str, str] = ("left", "right"), where: str = ""
) -> Iterator[str]:
    """One readable line per leaf where the two normalised trees differ, named by its path.

    Lists of the same length (sorted `oneOf` branches, say) are compared item by item."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right), key=str):
            here = f"{where}.{key}" if where else str(key)
            if key not in left:
                yield f"{here}: only in {names[1]}: {_short(right[key])}"
            elif key not in right:
                yield f"{here}: only in {names[0]}: {_short(left[key])}"
            else:
                yield from differences(left[key], right[key], names, here)
    elif isinstance(left, list) and isinstance(right, list) and len(left) == len(right) and all(
        isinstance(item, dict) for item in (*left, *right)
    ):
        for index, (one, other) in enumerate(zip(left, right, strict=True)):
            yield from differences(one, other, names, f"{where}[{index}]")
    elif left != right:
        yield f"{where}:\n    {names[0]}: {_short(left)}\n    {names[1]}: {_short(right)}"
