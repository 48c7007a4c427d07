"""The run summary the contract workflow publishes, from a JUnit file a real pytest run wrote."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devtools.junit_summary import main, render

KEY = "k_live1.s3cr3tvalue"
SAMPLE = f'''
import pytest

def test_ok():
    pass

def test_fails():
    assert "Bearer {KEY}" == "Bearer other", "the server refused the key"

@pytest.mark.skip(reason="needs --api-key-b | a second client")
def test_skipped_one():
    pass

@pytest.mark.skip(reason="needs --api-key-b | a second client")
def test_skipped_two():
    pass
'''


def junit_of_a_real_run(tmp_path: Path) -> Path:
    (tmp_path / "test_sample.py").write_text(SAMPLE, encoding="utf-8")
    report = tmp_path / "junit.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "--rootdir", str(tmp_path), f"--junitxml={report}", str(tmp_path)],
                   cwd=tmp_path, capture_output=True, timeout=60, check=False)
    return report


def test_counts_failures_and_skip_reasons_with_the_keys_redacted(tmp_path: Path) -> None:
    report = junit_of_a_real_run(tmp_path)
    text = render(report, "Contract suite", {"CONTRACT_API_KEY": KEY})
    assert text.startswith("## Contract suite: FAILED\n")
    assert "| 1 | 1 | 2 |" in text  # passed, failed, skipped
    assert "`test_sample::test_fails` (failure)" in text
    assert "the server refused the key" in text
    assert KEY not in text and "Bearer ***" in text
    assert "| 2 | needs --api-key-b \\| a second client |" in text  # one row per reason


def test_a_clean_run_says_passed_and_a_missing_file_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "test_ok.py").write_text("def test_ok():\n    pass\n", encoding="utf-8")
    report = tmp_path / "ok.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "--rootdir", str(tmp_path), f"--junitxml={report}", str(tmp_path)],
                   cwd=tmp_path, capture_output=True, timeout=60, check=False)
    assert render(report, "T", {}).startswith("## T: passed\n")
    assert main([str(tmp_path / "absent.xml"), "--title", "T"]) == 1
    assert capsys.readouterr().out.startswith("## T: no results\n")
