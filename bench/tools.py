"""Find (or install from Debian's packages) the external tools the benchmark drives."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

# Debian package that provides each binary.
PACKAGES = {"wrk": "wrk", "nginx": "nginx"}
# nginx lives in /usr/sbin, which is not on every user's PATH.
EXTRA_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")


class ToolMissing(RuntimeError):
    """A tool is absent and could not be installed here; the message says how to get it."""


def locate(name: str) -> Path | None:
    found = shutil.which(name)
    if found:
        return Path(found)
    for directory in EXTRA_DIRS:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _apt_install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"bench: installing {' '.join(packages)} with apt-get (once)", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=300)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True, env=env, timeout=600, stdout=subprocess.DEVNULL,
    )


def ensure(names: list[str]) -> dict[str, Path]:
    """Paths of the named tools, installing the missing ones when root with apt-get available."""
    missing = [name for name in names if locate(name) is None]
    if missing:
        packages = [PACKAGES[name] for name in missing]
        if os.geteuid() == 0 and shutil.which("apt-get"):
            _apt_install(packages)
        else:
            raise ToolMissing(
                f"bench needs {', '.join(missing)}; install them first, for example "
                f"`sudo apt-get install -y {' '.join(packages)}`, then run ./dev bench again"
            )
    paths: dict[str, Path] = {}
    for name in names:
        path = locate(name)
        if path is None:
            raise ToolMissing(f"{name} is still missing after installing {PACKAGES[name]}")
        paths[name] = path
    return paths


def cores() -> int:
    return len(os.sched_getaffinity(0))


def pinned(argv: list[str], cpus: str | None) -> list[str]:
    """argv run under `taskset -c cpus` when taskset exists and a CPU list is given."""
    taskset = shutil.which("taskset")
    if cpus is None or taskset is None:
        return argv
    return [taskset, "-c", cpus, *argv]
