"""The ratios the bench is judged by, computed from runs measured in the same session."""

from __future__ import annotations

from bench.results import (
    GATEWAY_SERVICES,
    MONOLITH_1W,
    NGINX_SERVICES,
    REF_EVALSHA,
    SERVICES,
    SERVICES_MANY_PENDING,
    Goal,
    Report,
)

WORKLOADS = ("send", "check")


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def overhead(proxied_rps: float | None, direct_rps: float | None) -> float | None:
    """Share of direct throughput lost by putting a proxy in front: 1 - proxied / direct."""
    share = ratio(proxied_rps, direct_rps)
    return None if share is None else 1.0 - share


def judged(name: str, value: float | None, op: str, threshold: float, detail: str = "") -> Goal:
    if value is None:
        return Goal(name, None, f"{op} {threshold:g}", None, detail or "not measured")
    passed = value >= threshold if op == ">=" else value <= threshold
    return Goal(name, round(value, 4), f"{op} {threshold:g}", passed, detail)


def _rps(report: Report, target: str, workload: str) -> float | None:
    run = report.find(target, workload)
    return run.rps if run else None


def cpu_efficiency(report: Report, target: str, baseline: str, workload: str) -> str:
    """How many times less CPU per request `target` spends than `baseline`, as a detail text;
    less sensitive than requests/s to other load on the machine."""
    mine, theirs = report.find(target, workload), report.find(baseline, workload)
    if not mine or not theirs or not mine.cpu_s_per_1k or theirs.cpu_s_per_1k is None:
        return ""
    return f"by CPU per request: {theirs.cpu_s_per_1k / mine.cpu_s_per_1k:.2f}"


def throughput_goals(report: Report) -> list[Goal]:
    goals: list[Goal] = []
    for workload in WORKLOADS:
        services = _rps(report, SERVICES, workload)
        goals.append(judged(
            f"services / monolith per core ({workload})",
            ratio(services, _rps(report, MONOLITH_1W, workload)), ">=", 2.0,
            "requests/s, both pinned to one core; "
            + cpu_efficiency(report, SERVICES, MONOLITH_1W, workload)))
        goals.append(judged(
            f"services / FastAPI+EVALSHA reference ({workload})",
            ratio(services, _rps(report, REF_EVALSHA, workload)), ">=", 0.9,
            cpu_efficiency(report, SERVICES, REF_EVALSHA, workload)))
        gateway = overhead(_rps(report, GATEWAY_SERVICES, workload), services)
        nginx = overhead(_rps(report, NGINX_SERVICES, workload), services)
        value = ratio(gateway, nginx) if nginx is not None and nginx > 0 else None
        detail = (f"gateway overhead {gateway:.3f}, nginx overhead {nginx:.3f}"
                  if gateway is not None and nginx is not None else "")
        if nginx is not None and nginx <= 0:
            detail += " (nginx cost nothing measurable: ratio undefined, rerun longer)"
        goals.append(judged(f"gateway overhead / nginx overhead ({workload})",
                            value, "<=", 1.5, detail))
        goals.append(judged(
            f"throughput with many pending / with 1,000 ({workload})",
            ratio(_rps(report, SERVICES_MANY_PENDING, workload), services), ">=", 0.95,
            f"pending loaded: {report.meta.get('many_pending', '?'):,}"
            if isinstance(report.meta.get("many_pending"), int) else ""))
    return goals
