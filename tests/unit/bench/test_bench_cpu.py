"""CPU time of a process tree from /proc."""

from __future__ import annotations

import subprocess
import sys

from bench import cpu
from devtools.processes import ProcessSpec, StaysUp, running


def test_stat_line_with_spaces_and_parens_in_the_name() -> None:
    line = "4242 (my (odd) name) S 17 4242 4242 0 -1 4194560 1 2 3 4 150 25 7 3 20 0 1 0 99\n"
    stat = cpu.parse_stat(line)
    assert (stat.pid, stat.ppid) == (4242, 17)
    assert (stat.utime, stat.stime, stat.cutime, stat.cstime) == (150, 25, 7, 3)
    assert stat.ticks == 185


def test_tree_sums_descendants_but_not_siblings() -> None:
    def stat(pid: int, ppid: int, ticks: int) -> cpu.ProcStat:
        return cpu.ProcStat(pid, ppid, ticks, 0, 0, 0)

    stats = {s.pid: s for s in [stat(1, 0, 1000), stat(10, 1, 5), stat(11, 10, 7),
                                stat(12, 10, 11), stat(20, 1, 13)]}
    assert cpu.tree_ticks([10], stats) == 5 + 7 + 11
    assert cpu.tree_ticks([10, 20], stats) == 5 + 7 + 11 + 13
    assert cpu.tree_ticks([999], stats) == 0  # gone: counts nothing


def test_a_busy_child_is_counted_in_its_parents_tree() -> None:
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
    # A shell parent that waits for a python child: the child's CPU must show under the parent.
    spec = ProcessSpec("burner", ("sh", "-c", f'{sys.executable} -c "{burn}"; sleep 5'),
                       ready=StaysUp(0))
    with running(spec) as parent:
        before = cpu.tree_seconds([parent.pid])
        burned_s = 0.25
        for _ in range(100):
            if cpu.tree_seconds([parent.pid]) - before >= burned_s:
                break
            subprocess.run(["sleep", "0.05"], check=True)
        assert cpu.tree_seconds([parent.pid]) - before >= burned_s
