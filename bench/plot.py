"""latest.png: requests/s and CPU per 1,000 requests for each target, one panel per workload."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a display
import matplotlib.pyplot as plt  # the backend above must be chosen first

from bench.results import Report


def write(report: Report, out_dir: Path) -> Path | None:
    workloads = sorted({r.workload for r in report.runs})
    if not workloads:
        return None
    figure, axes = plt.subplots(2, len(workloads), figsize=(6 * len(workloads), 8),
                                squeeze=False)
    for column, workload in enumerate(workloads):
        runs = [r for r in report.runs if r.workload == workload]
        names = [r.target for r in runs]
        rps_axis, cpu_axis = axes[0][column], axes[1][column]
        rps_axis.barh(names, [r.rps for r in runs], color="tab:blue")
        rps_axis.set_title(f"{workload}: requests/s (higher is better)", fontsize=10)
        cpu_axis.barh(names, [r.cpu_s_per_1k or 0 for r in runs], color="tab:orange")
        cpu_axis.set_title(f"{workload}: server CPU s / 1,000 requests (lower is better)",
                           fontsize=10)
        for axis in (rps_axis, cpu_axis):
            axis.invert_yaxis()
            axis.tick_params(axis="y", labelsize=8)
    noisy = " (quick smoke run: noisy)" if report.meta.get("quick") else ""
    figure.suptitle(f"bench {report.meta.get('started_at', '')}{noisy}")
    figure.tight_layout()
    path = out_dir / "latest.png"
    out_dir.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
