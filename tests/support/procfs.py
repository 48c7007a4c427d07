"""What /proc says of the machine's live processes (Linux): for tests that must see every process
a component started, whatever became of its leader."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcStat:
    pid: int
    state: str  # "R", "S", "Z" (a zombie: exited, not yet reaped) ...
    parent: int
    group: int


def live_processes() -> list[ProcStat]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        # The command name (field 2) may hold spaces; state, ppid, pgrp follow its closing ')'.
        state, parent, group = stat.rsplit(")", 1)[1].split()[:3]
        found.append(ProcStat(int(entry.name), state, int(parent), int(group)))
    return found


def processes_in_group(pgid: int) -> list[int]:
    """Every process of process group `pgid` that has not exited (zombies left out)."""
    return [p.pid for p in live_processes() if p.group == pgid and p.state != "Z"]


def process_tree(pid: int) -> set[int]:
    """`pid` and all its descendants (gunicorn's master and workers)."""
    parents = {p.pid: p.parent for p in live_processes()}
    tree = {pid}
    grew = True
    while grew:
        found = {child for child, parent in parents.items() if parent in tree}
        grew = not found <= tree
        tree |= found
    return tree
