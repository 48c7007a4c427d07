"""checkov on every generated template: no failed check, and every skip is one the template
declares in its resource's Metadata (`checkov: skip: [{id, comment}]`), with its reason.

checkov runs from its own venv, .tools/checkov, that `./dev sync` makes from tools/checkov/uv.lock
(its pins would downgrade the project's boto3). `--skip-download`: no guidelines fetched, the
checks are the ones shipped in the locked version.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra import cache_modes, stacks

from .conftest import FROZEN_ROUTES

ROOT = Path(__file__).resolve().parents[3]
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
# An S3 bucket with none of the settings checkov asks for: it must be flagged.
OPEN_TEMPLATE = '{"Resources": {"OpenBucket": {"Type": "AWS::S3::Bucket", "Properties": {}}}}'

Template = dict[str, Any]


def checkov(files: list[Path]) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: ./dev sync installs it (tools/checkov/uv.lock)")
    argv = [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "--output", "json"]
    for path in files:
        argv += ["--file", str(path)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON (exit {result.returncode}):\n"
                    f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return report


def declared_skips(templates: dict[str, Template]) -> dict[tuple[str, str], str]:
    """(check id, "Type.LogicalId") -> the reason written in the resource's Metadata."""
    skips = {}
    for template in templates.values():
        for logical_id, resource in template["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                skips[(skip["id"], f"{resource['Type']}.{logical_id}")] = skip["comment"]
    return skips


def cache_mode_variants(rendered: dict[str, str], out_dir: Path) -> list[Path]:
    """The cache template with CacheMode defaulting to each other mode: checkov evaluates
    Conditions under the parameters' defaults and scans only the resources they create, so the
    cluster and serverless resources are scanned in these copies."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for mode in cache_modes.MODES:
        if mode == cache_modes.DEFAULT_MODE:
            continue
        template = json.loads(rendered["cache"])
        template["Parameters"]["CacheMode"]["Default"] = mode
        path = out_dir / f"cache-{mode}.json"
        path.write_text(json.dumps(template, indent=2), encoding="utf-8")
        written.append(path)
    return written


def describe(check: dict[str, Any]) -> str:
    return (f"{check['check_id']} {check['check_name']}: {check['resource']} "
            f"({Path(check['file_abs_path']).name})")


def test_checkov_passes_every_template_and_skips_only_what_they_declare(
        tmp_path: Path, rendered: dict[str, str], templates: dict[str, Template],
        report: Callable[[str, object], None]) -> None:
    """One run over the templates `python -m infra build` writes and a template checkov must
    fail (so a checkov that passes everything fails this test)."""
    built = stacks.write_all(tmp_path / "built", FROZEN_ROUTES)
    assert [p.read_text(encoding="utf-8") for p in built] == [
        rendered[name] for name in stacks.STACK_ORDER]
    variants = cache_mode_variants(rendered, tmp_path / "modes")
    open_template = tmp_path / "open.json"
    open_template.write_text(OPEN_TEMPLATE, encoding="utf-8")

    result = checkov([*built, *variants, open_template])
    summary, results = result["summary"], result["results"]
    by_file: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for outcome in ("passed", "failed", "skipped"):
        for check in results[f"{outcome}_checks"]:
            file = Path(check["file_abs_path"]).resolve().name
            by_file.setdefault(file, {}).setdefault(outcome, []).append(check)
    scanned = [*built, *variants]
    ours = {outcome: [c for p in scanned for c in by_file.get(p.name, {}).get(outcome, [])]
            for outcome in ("passed", "failed", "skipped")}
    report("checkov on the generated templates",
           f"passed {len(ours['passed'])}, failed {len(ours['failed'])}, "
           f"skipped {len(ours['skipped'])} (checkov {summary['checkov_version']}, "
           f"{len(built)} templates and the cache template under CacheMode "
           f"{' and '.join(p.stem.removeprefix('cache-') for p in variants)})")
    # Each copy is scanned as its mode creates it: the cluster copy's group is the cluster-mode
    # one (checkov 3.3 has no check for AWS::ElastiCache::ServerlessCache; the facts test it).
    groups = {p.name: {c["resource"] for c in by_file.get(p.name, {}).get("passed", [])
                       if c["resource"].startswith("AWS::ElastiCache::ReplicationGroup.")}
              for p in (built[stacks.STACK_ORDER.index("cache")], *variants)}
    assert groups == {"cache.json": {"AWS::ElastiCache::ReplicationGroup.CacheReplicationGroup"},
                      "cache-cluster.json": {
                          "AWS::ElastiCache::ReplicationGroup.CacheClusterReplicationGroup"},
                      "cache-serverless.json": set()}

    assert summary["parsing_errors"] == 0, results.get("parsing_errors")
    assert not ours["failed"], "checkov failed:\n" + "\n".join(map(describe, ours["failed"]))
    assert ours["passed"], "checkov ran no check on the templates"
    assert by_file["open.json"].get("failed"), "checkov passed a bucket with no protection"

    skipped = {(c["check_id"], c["resource"]): c["check_result"].get("suppress_comment", "")
               for c in ours["skipped"]}
    assert skipped == declared_skips(templates)  # each declared skip names a check that ran
    for (check_id, resource), reason in skipped.items():
        assert len(reason.split()) >= 8, f"{check_id} on {resource}: say why it does not apply"
