"""A pytest JUnit XML file as Markdown for a CI run's summary page ($GITHUB_STEP_SUMMARY).

`python -m devtools.junit_summary REPORT [--title TITLE]` prints the counts, then each failed
test with the first lines of its message, then the skip reasons with how many tests each skipped.
The values of the contract suite's API-key variables (contract_tests/options.py) are replaced by
`***` wherever they appear, so a key a message echoes never reaches the page.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from contract_tests.options import KEYS
from devtools.results import junit_counts, junit_suites

MESSAGE_LINES = 8  # of each failure's text: enough to see the assertion, short enough to scan


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(report: Path, title: str, env: Mapping[str, str]) -> str:
    secrets = [value for name in KEYS.values() if (value := env.get(name, "").strip())]
    passed, failed, skipped = junit_counts(report)
    verdict = "passed" if failed == 0 and passed else "FAILED" if failed else "ran no test"
    lines = [f"## {title}: {verdict}", "", "| passed | failed | skipped |", "|---|---|---|",
             f"| {passed} | {failed} | {skipped} |", ""]
    failures, skips = [], Counter[str]()
    for suite in junit_suites(report):
        for case in suite.iter("testcase"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}".lstrip(":")
            for outcome in ("failure", "error"):
                for problem in case.findall(outcome):
                    text = (problem.get("message") or problem.text or "").strip()
                    excerpt = "\n".join(text.splitlines()[:MESSAGE_LINES])
                    failures.append((name, outcome, _redact(excerpt, secrets)))
            for skip in case.findall("skipped"):
                skips[_redact(skip.get("message") or "(no reason)", secrets)] += 1
    if failures:
        lines += ["### Failed", ""]
        for name, outcome, excerpt in failures:
            lines += [f"- `{name}` ({outcome})", "", "  ```", *(f"  {line}" for line in
                                                              excerpt.splitlines()), "  ```"]
        lines.append("")
    if skips:
        lines += ["### Skipped", "", "| tests | reason |", "|---|---|"]
        lines += [f"| {count} | {_cell(reason)} |" for reason, count in skips.most_common()]
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.junit_summary",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the JUnit XML file pytest wrote")
    parser.add_argument("--title", default="pytest", help="heading of the summary")
    args = parser.parse_args(argv)
    if not args.report.exists():
        print(f"## {args.title}: no results\n\n{args.report} was not written "
              "(the suite did not start: see the step's log).")
        return 1
    sys.stdout.write(render(args.report, args.title, os.environ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
