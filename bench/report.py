"""Merge one bench run's parts into results/latest.json and print a Markdown table.

Reads, from the results folder: plan.json (bench/queries.py: pages, query counts, row
counts, machine facts), raw/<n>.json (bench/locustfile.py: one per page, in plan
order), logs/pages.tsv (the pages bench/run.sh loaded) and memory.json
(bench/memwatch.py). No Django needed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

# Issue 17's budget for every page users reach: p95 at most 100 ms under the run's load,
# and at least a tenth of the trivial view's throughput measured in the same run.
BUDGET_P95_MS = 100.0
BUDGET_SHARE_OF_CEILING = 0.10


def budget_verdict(page: dict) -> str:
    """ "within", or "over:" and which limit the page missed; "–" when it was not loaded."""
    load = page.get("load")
    if page.get("status") != "ok" or not load or not load.get("requests"):
        return "–"
    if page.get("is_ceiling"):
        return "(reference)"
    missed = []
    if load["p95_ms"] > BUDGET_P95_MS:
        missed.append(f"p95 {load['p95_ms']:,.0f} > {BUDGET_P95_MS:.0f} ms")
    share = page.get("rps_vs_ceiling")
    if share is not None and share < BUDGET_SHARE_OF_CEILING:
        missed.append(f"{share:.2f} of ceiling < {BUDGET_SHARE_OF_CEILING:.2f}")
    return "over: " + ", ".join(missed) if missed else "within"


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 — git from PATH, fixed arguments
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def load_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def merge(results: Path, run_settings: dict) -> dict:
    plan = load_json(results / "plan.json")
    if plan is None:
        raise SystemExit(f"{results / 'plan.json'} is missing: bench/queries.py did not run.")
    selected = results / "logs" / "pages.tsv"
    selected_indexes = (
        {int(line.split("\t", 1)[0]) for line in selected.read_text().splitlines() if line.strip()}
        if selected.exists()
        else None
    )
    pages = []
    ceiling = None
    for index, page in enumerate(plan["pages"]):
        load = load_json(results / "raw" / f"{index:02d}.json")
        merged = {key: value for key, value in page.items() if key != "logins"}
        merged["load"] = load
        if page["status"] == "ok" and load is None and selected_indexes is not None and index not in selected_indexes:
            merged["status"] = "not selected (BENCH_PAGES)"
        elif page["status"] == "ok" and load is None:
            merged["status"] = "not loaded (locust failed, see bench/results/logs)"
        elif load is not None and (load["login_failures"] or not load["requests"]):
            reasons = load["login_failures"][:2] or load["failure_samples"][:1] or ["no request answered"]
            merged["status"] = "load failed: " + "; ".join(reasons)
        if page.get("is_ceiling"):
            ceiling = merged
        pages.append(merged)
    ceiling_load = ceiling["load"] if ceiling and ceiling.get("load") and ceiling["load"]["requests"] else None
    for page in pages:
        load = page["load"]
        if ceiling_load and load and load["requests"]:
            page["rps_vs_ceiling"] = round(load["requests_per_second"] / ceiling_load["requests_per_second"], 3)
            page["p50_vs_ceiling"] = round(load["p50_ms"] / ceiling_load["p50_ms"], 2)
        page["budget"] = budget_verdict(page)
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": plan["machine"],
        "scale": plan["scale"],
        "rows": plan["rows"],
        "settings": run_settings,
        "memory": (load_json(results / "memory.json") or {}).get("trees", {}),
        "pages": pages,
    }


def number(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def markdown(report: dict) -> str:
    machine = report["machine"]
    settings = report["settings"]
    rows = report["rows"]
    lines = [
        f"Baton bench {report['date']} (commit {report['git_commit'] or '?'}), scale {report['scale']}: "
        f"{rows.get('handoffs_deal', 0):,} deals, {rows.get('handoffs_handoff', 0):,} hand-offs, "
        f"{rows.get('followups_checkin', 0):,} check-ins, {rows.get('accounts_account', 0):,} accounts.",
        f"Machine: {machine['cpu_cores']} cores ({machine['cpu_model']}), {machine['ram_gb']} GB RAM, "
        f"PostgreSQL {machine['postgresql']}. Load: {settings.get('users')} locust users, no think time, "
        f"{settings.get('seconds')} s per page; gunicorn {settings.get('web_workers')} sync workers, "
        "all on the same machine.",
        "",
        "| Page | Role | Queries | Req/s | Req/s ÷ ceiling | p50 ms | p95 ms | p99 ms | p50 ÷ ceiling "
        "| Web CPU ms/req | DB CPU ms/req | Failures | Budget |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for page in report["pages"]:
        load = page.get("load")
        if page["status"] != "ok" or not load:
            lines.append(
                f"| {page['label']} | {page['role']} | {page.get('queries', '–')} | {page['status']} ||||||||||"
            )
            continue
        lines.append(
            f"| {page['label']} | {page['role']} | {page['queries']} | {number(load['requests_per_second'])} | "
            f"{number(page.get('rps_vs_ceiling'), 2)} | {number(load['p50_ms'])} | {number(load['p95_ms'])} | "
            f"{number(load['p99_ms'])} | {number(page.get('p50_vs_ceiling'), 1)} | "
            f"{number(load.get('web_cpu_ms_per_request'))} | {number(load.get('database_cpu_ms_per_request'))} | "
            f"{load['failures']} / {load['requests'] + load['failures']:,} | {page['budget']} |"
        )
    judged = [page for page in report["pages"] if page.get("budget", "–") not in ("–", "(reference)")]
    within = sum(page["budget"] == "within" for page in judged)
    lines += [
        "",
        f"Budget (p95 ≤ {BUDGET_P95_MS:.0f} ms and ≥ {BUDGET_SHARE_OF_CEILING:.0%} of the ceiling's req/s): "
        f"{within} of {len(judged)} pages loaded are within it.",
    ]
    loads = [
        value
        for page in report["pages"]
        if page.get("load")
        for value in page["load"].get("load_average_1min", [])
        if value is not None
    ]
    if loads:
        lines += [
            "",
            f"Load average (1 min) while measuring: {min(loads):.1f}–{max(loads):.1f} on {machine['cpu_cores']} cores "
            "(includes the bench itself; much above the core count means other work shared the machine).",
        ]
    memory = report["memory"]
    if memory:
        parts = [
            f"{name} {tree['peak_rss_mb']:,.0f} MB ({tree['processes']} processes)" for name, tree in memory.items()
        ]
        lines += ["", "Peak memory (RSS of the process and its children): " + ", ".join(parts) + "."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="bench/results")
    parser.add_argument("--users", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--web-workers", type=int)
    parser.add_argument("--worker-concurrency", type=int)
    parser.add_argument("--seed-seconds", type=float)
    options = parser.parse_args(argv)
    results = Path(options.results)
    run_settings = {
        "users": options.users,
        "seconds": options.seconds,
        "web_workers": options.web_workers,
        "worker_concurrency": options.worker_concurrency,
        "seed_seconds": options.seed_seconds,
    }
    report = merge(results, run_settings)
    (results / "latest.json").write_text(json.dumps(report, indent=2))
    table = markdown(report)
    (results / "latest.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
