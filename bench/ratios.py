"""The ratios the bench is judged by, computed from runs measured in the same session."""

from __future__ import annotations

from bench.results import (
    GATEWAY_SERVICES,
    MONOLITH_1W,
    NGINX_SERVICES,
    REF_EVALSHA,
    SERVICES,
    SERVICES_FEW_PENDING,
    SERVICES_FEW_PENDING_AFTER,
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
        return Goal(name, None, f"{op} {threshold:g}", None,
                    f"not measured; {detail}" if detail else "not measured")
    value = round(value, 4)  # judge the number that is reported, not float noise around it
    passed = value >= threshold if op == ">=" else value <= threshold
    return Goal(name, value, f"{op} {threshold:g}", passed, detail)


MIN_OK_SHARE = 0.99  # a run with more refusals or errors than this measured something else


def _rps(report: Report, target: str, workload: str) -> float | None:
    run = report.find(target, workload)
    return run.rps if run and run.ok_share >= MIN_OK_SHARE else None


def unusable(report: Report, targets: tuple[str, ...], workload: str) -> str:
    """Why runs of these targets were left out of a ratio (too few 2xx answers), as text."""
    notes = [f"{run.target} answered only {run.ok_share:.1%} 2xx ({run.statuses}): left out"
             for target in targets if (run := report.find(target, workload))
             and run.ok_share < MIN_OK_SHARE]
    return "; ".join(notes)


def cpu_efficiency(report: Report, target: str, baseline: str, workload: str) -> str:
    """How many times less CPU per request `target` spends than `baseline`, as a detail text;
    less sensitive than requests/s to other load on the machine."""
    mine, theirs = report.find(target, workload), report.find(baseline, workload)
    if not mine or not theirs or not mine.cpu_s_per_1k or theirs.cpu_s_per_1k is None:
        return ""
    return f"by CPU per request: {theirs.cpu_s_per_1k / mine.cpu_s_per_1k:.2f}"


def added_cpu(report: Report, workload: str) -> str:
    """CPU per request each proxy adds over direct (less sensitive to other load), as text."""
    direct = report.find(SERVICES, workload)
    gateway, nginx = report.find(GATEWAY_SERVICES, workload), report.find(NGINX_SERVICES, workload)
    cpus = [r.cpu_s_per_1k if r else None for r in (direct, gateway, nginx)]
    if any(c is None for c in cpus):
        return ""
    base, via_gateway, via_nginx = (float(c or 0) for c in cpus)
    text = (f"CPU s/1k added: gateway {via_gateway - base:.3f}, "
            f"nginx {via_nginx - base:.3f}")
    if via_nginx - base > 0:
        text += f" (ratio {(via_gateway - base) / (via_nginx - base):.2f})"
    return text


def added_cpu_ratio(direct: float | None, via_gateway: float | None,
                    via_nginx: float | None) -> float | None:
    """CPU s/1k the gateway adds over direct divided by what nginx adds; None when nginx adds
    nothing measurable (the ratio is undefined) or a figure is missing."""
    if direct is None or via_gateway is None or via_nginx is None or via_nginx - direct <= 0:
        return None
    return (via_gateway - direct) / (via_nginx - direct)


def added_cpu_goal(report: Report, workload: str) -> Goal:
    runs = [report.find(t, workload) for t in (SERVICES, GATEWAY_SERVICES, NGINX_SERVICES)]
    direct, gateway, nginx = (r.cpu_s_per_1k if r else None for r in runs)
    return judged(f"gateway CPU added / nginx CPU added ({workload})",
                  added_cpu_ratio(direct, gateway, nginx), "<=", 1.5,
                  added_cpu(report, workload))


def mixed_goals(report: Report) -> list[Goal]:
    """The services' mixed throughput against what the API alone carries in the same run (a flow
    is about one send and one check), and how soon a code is in the inbox."""
    mixed = report.mixed.get(SERVICES)
    if not mixed:
        return []
    send, check = (_rps(report, SERVICES, workload) for workload in WORKLOADS)
    ceiling = min(send, check) if send is not None and check is not None else None
    # On the one server core the mixed flow gets, a flow costs a send *and* a check: the API
    # alone would carry 1 / (1/send + 1/check) flows/s there, which is under 0.5 of min(send,
    # check) by arithmetic. Reported beside the goal, so the delivery's own cost shows.
    one_core = 1 / (1 / send + 1 / check) if send and check else None
    flows = mixed.get("flows_per_s")
    return [
        judged("mixed flows/s / min(send, check) req/s (services)",
               ratio(flows, ceiling), ">=", 0.5,
               _details(f"{flows} flows/s at {mixed.get('concurrency')} at once",
                        f"API alone on one core: {one_core:,.0f} flows/s (ratio "
                        f"{flows / one_core:.2f})" if one_core and flows else "")),
        judged("delivery p50 ms (services, mixed flow)", mixed.get("delivery_p50_ms"), "<=", 5,
               f"p99 {mixed.get('delivery_p99_ms')} ms; at half load "
               f"({mixed.get('half_load', {}).get('concurrency')} at once) flow p99 "
               f"{mixed.get('half_load', {}).get('flow_p99_ms')} ms"),
    ]


def pending_goal(report: Report, workload: str) -> Goal:
    """Many pending vs the mean of the 1,000-pending runs measured just before and after."""
    few = [rps for t in (SERVICES_FEW_PENDING, SERVICES_FEW_PENDING_AFTER)
           if (rps := _rps(report, t, workload)) is not None]
    many = report.meta.get("many_pending")
    return judged(
        f"throughput with many pending / with 1,000 ({workload})",
        ratio(_rps(report, SERVICES_MANY_PENDING, workload), sum(few) / len(few) if few else None),
        ">=", 0.95, _details(
            f"pending: {many:,} (storage version {report.meta.get('many_pending_storage_version')},"
            f" the 1,000 checked created by the services)" if isinstance(many, int) else "",
            f"baseline: mean of {len(few)} runs with 1,000 (before and after)" if few else "",
            unusable(report, (SERVICES_FEW_PENDING, SERVICES_MANY_PENDING,
                              SERVICES_FEW_PENDING_AFTER), workload)))


def pending_summary(report: Report) -> dict[str, object]:
    """The many-pending comparison on its own, for latest.json: requests/s of each run (the
    median of --repeat, every repeat kept) and the ratio the goal judges."""
    summary: dict[str, object] = {
        "pending": report.meta.get("many_pending"),
        "storage_version": report.meta.get("many_pending_storage_version"),
        "load_s": report.meta.get("many_pending_load_s"),
    }
    for workload in WORKLOADS:
        runs = {t: report.find(t, workload) for t in
                (SERVICES_FEW_PENDING, SERVICES_MANY_PENDING, SERVICES_FEW_PENDING_AFTER)}
        if not any(runs.values()):
            continue
        summary[workload] = {
            "rps": {t: r.rps if r else None for t, r in runs.items()},
            "rps_samples": {t: list(r.rps_samples) for t, r in runs.items() if r},
            "ratio": pending_goal(report, workload).value,
        }
    return summary


def _details(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def throughput_goals(report: Report) -> list[Goal]:
    goals: list[Goal] = []
    for workload in WORKLOADS:
        services = _rps(report, SERVICES, workload)
        goals.append(judged(
            f"services / monolith per core ({workload})",
            ratio(services, _rps(report, MONOLITH_1W, workload)), ">=", 2.0, _details(
                "requests/s, both pinned to one core",
                cpu_efficiency(report, SERVICES, MONOLITH_1W, workload),
                unusable(report, (SERVICES, MONOLITH_1W), workload))))
        goals.append(judged(
            f"services / FastAPI+EVALSHA reference ({workload})",
            ratio(services, _rps(report, REF_EVALSHA, workload)), ">=", 1.0, _details(
                cpu_efficiency(report, SERVICES, REF_EVALSHA, workload),
                unusable(report, (SERVICES, REF_EVALSHA), workload))))
        gateway = overhead(_rps(report, GATEWAY_SERVICES, workload), services)
        nginx = overhead(_rps(report, NGINX_SERVICES, workload), services)
        goals.append(judged(
            f"gateway overhead / nginx overhead ({workload})",
            ratio(gateway, nginx) if nginx is not None and nginx > 0 else None, "<=", 1.5,
            _details(
                f"gateway overhead {gateway:.3f}, nginx overhead {nginx:.3f}"
                if gateway is not None and nginx is not None else "",
                added_cpu(report, workload),
                "nginx cost nothing measurable: ratio undefined, rerun longer"
                if nginx is not None and nginx <= 0 else "",
                unusable(report, (SERVICES, GATEWAY_SERVICES, NGINX_SERVICES), workload))))
        goals.append(added_cpu_goal(report, workload))
        goals.append(pending_goal(report, workload))
    return goals + mixed_goals(report)
