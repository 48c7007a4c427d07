import json, pathlib
from collections import Counter
import pytest
from schemathesis.generation.modes import GenerationMode
import monolith.ops
from tests.integration.monolith import test_schemathesis as t
from tests.integration.monolith.conftest import *  # noqa

seen = Counter()
orig = t._is_idempotency_key_reuse
def counting(r):
    seen[r.status_code] += 1
    v = orig(r)
    if v: seen["reuse"] += 1
    return v

def test_counts(make_app, redis_client, monkeypatch):
    monkeypatch.setattr(t, "_is_idempotency_key_reuse", counting)
    t.run_schema(make_app(), GenerationMode.POSITIVE)
    print(seen)

@pytest.mark.parametrize("edit", ["minimum", "retry", "reqbody"])
def test_breaks(make_app, redis_client, monkeypatch, tmp_path, edit):
    doc = json.loads(monolith.ops.OPENAPI.read_text())
    if edit == "minimum":
        doc["components"]["schemas"]["Verification"]["properties"]["send_attempts"]["minimum"] = 2
    elif edit == "retry":
        del doc["paths"]["/api/verifications"]["post"]["responses"]["400"]
    else:
        doc["components"]["schemas"]["Code"]["pattern"] = "^[0-9]{1,10}$"
    p = tmp_path / "o.json"; p.write_text(json.dumps(doc))
    monkeypatch.setattr(monolith.ops, "OPENAPI", p)
    mode = GenerationMode.POSITIVE if edit == "minimum" else GenerationMode.NEGATIVE
    if edit == "reqbody": mode = GenerationMode.POSITIVE
    with pytest.raises(BaseException) as e:
        t.run_schema(make_app(), mode)
    print(edit, str(e.value)[:600])
