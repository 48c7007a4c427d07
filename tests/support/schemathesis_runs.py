"""Drive schemathesis over every operation of an OpenAPI document, bounded, in one mode.

Through hypothesis directly, because schemathesis' lazy pytest loader does not work with this
pytest version (it reads `_nodeid`). Each caller says how a generated case is called and checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

BOUNDS = settings(
    max_examples=50, deadline=None, derandomize=True, database=None,
    suppress_health_check=list(HealthCheck),
)


def run_operations(schema: Any, mode: GenerationMode, call: Callable[[Any], None], *,
                   auth_headers: Mapping[str, str] | None = None) -> list[str]:
    """Run `call(case)` on up to 50 cases per operation; the labels of the operations run.

    `auth_headers` (an API key's `Authorization`, docs/api.md) go on every generated case, so the
    cases reach the handlers instead of all stopping at 401."""
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()
        inputs = [*operation.body, *operation.path_parameters, *operation.headers]
        if mode is GenerationMode.NEGATIVE and not inputs:
            continue  # nothing to make invalid (/healthz, /readyz, /metrics, /openapi.json)

        @BOUNDS
        @given(case=operation.as_strategy(generation_mode=mode))
        def conforms(case: Any) -> None:
            if auth_headers:
                case.headers = {**(case.headers or {}), **auth_headers}
            call(case)

        try:
            conforms()
        except Unsatisfiable:
            # Negative mode cannot make a free-form path string invalid: nothing to send.
            assert mode is GenerationMode.NEGATIVE and not [*operation.body], operation.label
            continue
        tested.append(operation.label)
    return tested
