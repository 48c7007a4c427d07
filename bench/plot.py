"""latest.png: requests/s and CPU per 1,000 requests for each target, one panel per workload;
and the mixed flow's curve (flows/s and delivery p50 against flows at once), with the goal line."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a display
import matplotlib.pyplot as plt  # the backend above must be chosen first
from matplotlib.axes import Axes

from bench.results import SERVICES, Report


def write(report: Report, out_dir: Path) -> Path | None:
    workloads = sorted({r.workload for r in report.runs})
    columns = len(workloads) + (1 if report.mixed else 0)
    if not columns:
        return None
    figure, axes = plt.subplots(2, columns, figsize=(6 * columns, 8), squeeze=False)
    if report.mixed:
        _mixed(report, axes[0][-1], axes[1][-1])
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


def _mixed(report: Report, flows_axis: Axes, delivery_axis: Axes) -> None:
    for target, result in report.mixed.items():
        curve = result.get("curve") or []
        at_once = [point["concurrency"] for point in curve]
        flows_axis.plot(at_once, [point["flows_per_s"] for point in curve], marker="o",
                        label=target)
        delivery_axis.plot(at_once, [point["delivery_p50_ms"] or 0 for point in curve],
                           marker="o", label=target)
    services = [r.rps for r in report.runs if r.target == SERVICES]
    if len(services) == 2:  # send and check measured: the goal is half the lower
        flows_axis.axhline(0.5 * min(services), color="grey", linestyle="--",
                           label="goal: 0.5 x min(send, check)")
    delivery_axis.axhline(5, color="grey", linestyle="--", label="goal: 5 ms")
    flows_axis.set_title("mixed flow: flows/s (higher is better)", fontsize=10)
    delivery_axis.set_title("mixed flow: delivery p50 ms (lower is better)", fontsize=10)
    plotted = any(result.get("curve") for result in report.mixed.values())
    for axis in (flows_axis, delivery_axis):
        if plotted:  # concurrency doubles from step to step
            axis.set_xscale("log", base=2)
        axis.set_xlabel("flows at once")
        axis.legend(fontsize=8)
