"""The dropped-baton report: totals, tables, trend, latency, the drill-down and CSV."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.access import role_required
from accounts.choices import Role
from accounts.common.exports import csv_response
from accounts.common.http import parse_id
from accounts.common.links import url_for_each
from accounts.common.pagination import CappedPaginator
from followups.access import report_allowed_teams, report_team_ids
from followups.forms_report import DEFAULT_PERIOD, ReportPeriodForm
from followups.rules import DROP_CODES, RULES
from followups.selectors.report import (
    LATENCY_METRICS,
    DropFilters,
    ReportSummary,
    drop_rows,
    drops_of,
    open_drop_count,
    packet_waivers,
    promise_keeping_by_rep,
    pulse_summary,
    report_summary_of,
)
from followups.services.report import report_refresh

DRILLDOWN_PAGE_SIZE = 50
CSV_TABLES = ("totals", "by_rep", "by_owner", "by_team", "trend", "latency")


def _int_param(request: HttpRequest, name: str) -> int | None:
    """An id from the query string; garbage (letters, `²`, a number no row can have) is
    a 404, like a link to nothing."""
    value = request.GET.get(name, "").strip()
    if not value:
        return None
    number = parse_id(value)
    if number is None:
        raise Http404(f"Bad {name}.")
    return number


def _period_query(request: HttpRequest) -> str:
    """The period and team of the current page, for links to drill-downs and CSV."""
    kept = {name: request.GET[name] for name in ("period", "start", "end", "team") if request.GET.get(name)}
    return urlencode(kept)


@role_required(Role.MANAGER)
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    team_id = _int_param(request, "team")
    team_ids = report_team_ids(request.user, team_id=team_id)  # 404 for a team that is not the user's
    form = ReportPeriodForm(request.GET or {"period": DEFAULT_PERIOD}, teams=report_allowed_teams(request.user))
    if not form.is_valid():
        return render(request, "followups/report/report.html", {"form": form, "summary": None})
    period = form.period_value()
    summary = report_summary_of(team_ids, period=period)
    if request.GET.get("format") == "csv":
        return _report_csv(summary, table=request.GET.get("table", "totals"))
    drilldown_url = url_for_each("followups:report_drilldown")  # one reverse() for the 12 links
    context = {
        "form": form,
        "summary": summary,
        "period_query": _period_query(request),
        "drill_urls": {code: drilldown_url(code) for code in [*DROP_CODES, "all"]},
        "latency_metrics": LATENCY_METRICS,
        "csv_tables": CSV_TABLES,
        "pulse": pulse_summary(team_ids, period=period),
        "packet_waivers": packet_waivers(team_ids, period=period),
        "promise_keeping": promise_keeping_by_rep(team_ids, period=period),
    }
    return render(request, "followups/report/report.html", context)


def _report_csv(summary: ReportSummary, *, table: str) -> HttpResponse:
    if table not in CSV_TABLES:
        raise Http404("No such table.")
    stem = f"dropped-batons-{table}-{summary.period.start}-{summary.period.end}.csv"
    labels = [RULES[code].label for code in DROP_CODES]
    if table == "totals":
        header = ["Code", "Drop", "Count", "Previous period", "Change"]
        rows = [
            [row["code"], row["label"], row["count"], row["previous"], row["change"]] for row in summary.rows_by_code
        ]
        return csv_response(stem, header, rows)
    if table in {"by_rep", "by_owner", "by_team"}:
        breakdown = {"by_rep": summary.by_rep, "by_owner": summary.by_owner, "by_team": summary.by_team}[table]
        first = {"by_rep": "Rep", "by_owner": "Delivery owner", "by_team": "Team"}[table]
        header = [first, *labels, "Total", "Previous period"]
        rows = [
            [row.name, *(row.counts.get(code, 0) for code in DROP_CODES), row.total, row.previous_total]
            for row in breakdown
        ]
        return csv_response(stem, header, rows)
    if table == "trend":
        header = ["Week of", *labels]
        datasets = summary.trend["datasets"]
        rows = [
            [week, *(dataset["data"][index] for dataset in datasets)]
            for index, week in enumerate(summary.trend["labels"])
        ]
        return csv_response(stem, header, rows)
    header = ["Scope", "Name"]
    for label in LATENCY_METRICS.values():
        header += [f"{label}: median days", f"{label}: p90 days", f"{label}: hand-offs"]
    latency_rows = [("All", summary.latency_overall)]
    latency_rows += [("Team", row) for row in summary.latency_by_team]
    latency_rows += [("Rep", row) for row in summary.latency_by_rep]
    rows = [
        [scope, row.name, *(value for metric in LATENCY_METRICS for value in row.figures[metric])]
        for scope, row in latency_rows
    ]
    return csv_response(stem, header, rows)


@role_required(Role.MANAGER)
@require_GET
def report_drilldown(request: HttpRequest, code: str) -> HttpResponse:
    if code != "all" and code not in RULES:
        raise Http404("No such drop type.")
    team_id = _int_param(request, "team")
    team_ids = report_team_ids(request.user, team_id=team_id)  # 404 for a team that is not the user's
    period = None
    if request.GET.get("period"):
        form = ReportPeriodForm(request.GET, teams=report_allowed_teams(request.user))
        if not form.is_valid():
            return render(request, "followups/report/report.html", {"form": form, "summary": None})
        period = form.period_value()
    filters = DropFilters(
        code=None if code == "all" else code,
        period=period,
        rep_id=_int_param(request, "rep"),
        owner_id=_int_param(request, "owner"),
        by_team_id=_int_param(request, "by_team"),
        account_id=_int_param(request, "account"),
        open_only=request.GET.get("open") == "1",
    )
    drops = drops_of(team_ids, filters=filters)
    if request.GET.get("format") == "csv":
        header = ["Dropped on", "Code", "Drop", "Deal", "Account", "Rep", "Delivery owner", "Team", "Still open"]
        rows = (
            [
                drop.drop_date,
                drop.code,
                RULES[drop.code].label if drop.code in RULES else drop.code,
                drop.deal.title,
                drop.account.name,
                str(drop.rep),
                str(drop.delivery_owner) if drop.delivery_owner else "",
                drop.team.name if drop.team else "",
                "yes" if drop.is_open else "no",
            ]
            for drop in drops.select_related("deal", "account", "rep", "delivery_owner", "team").iterator(
                chunk_size=2000
            )
        )
        return csv_response(f"dropped-batons-{code}.csv", header, rows)
    # A capped count (the team's drops are tens of thousands: "2,000+") of the drops
    # alone; the page's 50 rows read only what the table shows (drop_rows).
    paginator = CappedPaginator(drops, DRILLDOWN_PAGE_SIZE)
    if filters == DropFilters(code=filters.code, open_only=True):
        # Every open drop (of a code), as the dashboard links to them: the roll-up holds
        # that number, so it is not counted again from ~700 pages of drops (capped as
        # capped_count caps it).
        paginator.count = min(open_drop_count(team_ids, code=filters.code), paginator.cap + 1)
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = drop_rows(page.object_list)  # written by report_tags.drilldown_rows
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    context = {
        "rule": RULES.get(code),
        "code": code,
        "page_obj": page,
        "filters": filters,
        "period": period,
        "query": query.urlencode(),
        "rules": RULES,
    }
    return render(request, "followups/report/drilldown.html", context)


@role_required(Role.MANAGER)
@require_POST
def report_recompute(request: HttpRequest) -> HttpResponse:
    """Rebuild the report's snapshot now instead of waiting for the worker's next run."""
    report_allowed_teams(request.user)
    result = report_refresh()
    messages.success(request, f"Recomputed: {result.drops} dropped batons found.")
    return redirect("followups:report")
