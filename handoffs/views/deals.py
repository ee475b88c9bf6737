"""Pages of the rep's pipeline: My day, the board, the deal list, a deal, its forms.

Each view: access check (handoffs.access) → form → service → redirect. A deal the user may
not read is a 404; one they may read but not change is a 403.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import naturalday
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import floatformat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.formats import get_format
from django.utils.text import Truncator
from django.views.decorators.http import require_GET, require_POST

from accounts.access import role_required, team_scope_ids
from accounts.choices import Role
from accounts.common.edits import StaleEditError
from accounts.common.exports import export_format_of, export_response, list_filters
from accounts.common.forms import add_service_error, select_options
from accounts.common.http import parse_id, see_other
from accounts.common.links import url_for_each
from accounts.common.pagination import CappedPaginator, narrows_nothing
from accounts.common.timeline import timeline_cursor
from accounts.templatetags.people_tags import person
from handoffs.access import (
    accounts_visible_to,
    deal_editable_by,
    deal_reopenable_by,
    deals_of_teams_visible_to,
    deals_visible_to,
    user_may_work_promise,
)
from handoffs.choices import CLOSED_STAGES, Stage
from handoffs.exports import DEAL_COLUMNS, PROMISE_COLUMNS
from handoffs.filters import DealFilter
from handoffs.forms.deals import (
    DealCloseForm,
    DealContactForm,
    DealForm,
    DealReopenForm,
    NoPromisesForm,
    PromiseForm,
    StageMoveForm,
)
from handoffs.forms.packet_pending import PacketPendingWaiveForm
from handoffs.models import Deal
from handoffs.packet import deal_packet, packet_errors_split, packet_pending, packet_pending_waivable_by
from handoffs.selectors.deals import (
    board_columns,
    contacts_addable_to,
    deal_for_change,
    deal_for_detail,
    deal_list_queryset,
    deal_timeline,
    my_day,
)
from handoffs.selectors.promises import mark_workable, promise_list_queryset
from handoffs.services.deals import (
    deal_close,
    deal_contact_add,
    deal_create,
    deal_move_stage,
    deal_no_promises_set,
    deal_reopen,
    deal_update,
    promise_add,
)
from handoffs.templatetags.next_step_tags import page_path_of
from handoffs.views.deal_rows import BoardCards, DayLines

PIPELINE_ROLES = (Role.REP, Role.MANAGER)
PAGE_SIZE = 25
# What a row of the deal list shows (templates/handoffs/deals/list.html), besides the
# selector's annotations.
DEAL_LIST_ROW_FIELDS = (
    "title",
    "stage",
    "amount",
    "currency",
    "next_step",
    "next_step_due",
    "expected_close_date",
    "account__name",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
)
SORTABLE_COLUMNS = [
    ("title", "Deal"),
    ("account", "Account"),
    ("stage", "Stage"),
    ("amount", "Amount"),
    ("next_step", "Next step"),
    ("close", "Expected close"),
    ("owner", "Owner"),
]


def _editable_or_403(user, deal: Deal) -> None:
    if not deal_editable_by(user, deal):
        raise PermissionDenied("You may read this deal but not change it.")


@login_required
def my_day_view(request: HttpRequest) -> HttpResponse:
    day = my_day(request.user)
    # Up to ~200 lines, written once here (handoffs.views.deal_rows.DayLines): each URL
    # reversed once, each format set up once, not a {% url %}, filter and a dozen
    # variables per line (most of the page's rendering, issue 17). The overdue and
    # due-today next steps read as the component renders a "line" (_next_step.html): a
    # test holds them equal.
    queries = _next_step_queries(request, variant="line")
    lines = DayLines(
        may_change=_may_change_deals_of(request.user),
        detail_url=url_for_each("handoffs:deal_detail"),
        next_step_url=url_for_each("handoffs:deal_next_step"),
        due_label=_natural_day_format("d M"),
        day_month=_day_month_format(),
        whole_amount=_whole_amount_format(),
        stage_labels={value: str(label) for value, label in Stage.choices},
        back_query=queries["next_step_back_query"],
        edit_query=queries["next_step_edit_query"],
    )
    detail_url = url_for_each("handoffs:deal_detail")
    for deal in day.packet_pending:
        deal.detail_url = detail_url(deal.pk)
    context = {
        "day": day,
        "today": timezone.localdate(),
        "lines": {
            "overdue": lines.next_steps(day.overdue, late=True),
            "due_today": lines.next_steps(day.due_today, late=False),
            "closing_this_month": lines.closing(day.closing_this_month),
            "single_threaded": lines.single_threaded(day.single_threaded),
        },
    }
    return render(request, "handoffs/my_day.html", context)


def _natural_day_format(format_string: str) -> Callable[[datetime.date | None], str]:
    """`naturalday:format_string` for many dates of one page ("today", "yesterday",
    "tomorrow" or the date), remembered per date: the filter translates and formats on
    every call."""
    labels: dict[datetime.date | None, str] = {}

    def natural(day: datetime.date | None) -> str:
        if day not in labels:
            labels[day] = str(naturalday(day, format_string))
        return labels[day]

    return natural


def _board_context(request: HttpRequest, *, scope: str, board_error: str | None = None) -> dict:
    deals = deals_visible_to(request.user)
    if scope == "mine":
        deals = deals.filter(owner=request.user)
    columns = board_columns(deals)
    _dress_cards(request, columns, scope=scope)
    return {
        "columns": columns,
        "scope": scope,
        "today": timezone.localdate(),
        "board_error": board_error,
    }


def _may_change_deals_of(user) -> Callable[[Deal], bool]:
    """handoffs.access.deal_editable_by for many deals of one page, asked once per owner
    and team (the rule depends on nothing else of a deal) rather than once per row."""
    team_scope = team_scope_ids(user)
    answers: dict[tuple[int, int | None], bool] = {}

    def may_change(deal: Deal) -> bool:
        key = (deal.owner_id, deal.team_id)
        if key not in answers:
            answers[key] = deal_editable_by(user, deal, scope=team_scope)
        return answers[key]

    return may_change


def _next_step_queries(request: HttpRequest, *, variant: str, scope: str = "") -> dict[str, str]:
    """The query strings of a page's "change next step" links, the same for every row:
    back to the page the browser shows, without htmx and with it (`variant`)."""
    back = quote(page_path_of(request), safe="/")
    return {
        "next_step_back_query": f"?next={back}",
        "next_step_edit_query": f"?variant={variant}&next={back}" + (f"&scope={scope}" if scope else ""),
    }


def _dress_cards(request: HttpRequest, columns: list, *, scope: str) -> None:
    """Each column's `cards_html`: its cards written once here (handoffs.views.deal_rows).
    A board holds up to ~175 cards, and each `{% url %}`, filter, number, escaping and
    variable the template wrote per card cost more than the rest of the page (issue 17's
    profiles: 86 ms, 83% in rendering; then, values formatted here, ~35 nodes a card
    still ~40%). Who may move a card (and so set its next step) is asked of
    handoffs.access once per owner and team, not per card. The card's next step reads as
    the component renders it on a card (_next_step.html, variant "card"): a test holds
    them equal."""
    queries = _next_step_queries(request, variant="card", scope=scope)
    # Reverse each URL once, not per card.
    cards = BoardCards(
        may_change=_may_change_deals_of(request.user),
        detail_url=url_for_each("handoffs:deal_detail"),
        stage_url=url_for_each("handoffs:deal_stage"),
        next_step_url=url_for_each("handoffs:deal_next_step"),
        day_month=_day_month_format(),
        whole_amount=_whole_amount_format(),
        truncated=_truncated,
        csrf_token=get_token(request),
        back_query=queries["next_step_back_query"],
        edit_query=queries["next_step_edit_query"],
    )
    for column in columns:
        # The menu's stages are those of the column's cards: rendered once per column.
        column.menu_items = (
            render_to_string(
                "handoffs/deals/_stage_menu_items.html",
                {"stage_choices": Stage.choices, "current": column.stage, "scope": scope},
            )
            if any(cards.movable(deal) for deal in column.deals)
            else ""
        )
        column.cards_html = cards.column(column.deals, open_column=column.is_open, menu_items=column.menu_items)


def _day_month_format():
    """`date:"d M"` for many dates: the month names translated once."""
    months = {number: MONTHS_3[number].title() for number in MONTHS_3}
    return lambda day: f"{day.day:02d} {months[day.month]}" if day else ""


def _day_month_year_format():
    """`date:"d M Y"` for many dates: the month names translated once."""
    months = {number: MONTHS_3[number].title() for number in MONTHS_3}
    return lambda day: f"{day.day:02d} {months[day.month]} {day.year}" if day else ""


def _whole_amount_format():
    """`floatformat:"0g"` for many amounts: rounded half up to a whole number, grouped
    in thousands with the locale's separator (Django's own filter where the locale does
    not group by threes)."""
    if get_format("NUMBER_GROUPING") != 3:
        return lambda amount: floatformat(amount, "0g")
    separator = get_format("THOUSAND_SEPARATOR")

    def whole(amount: Decimal | None) -> str:
        if amount is None:
            return ""
        rounded = Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return f"{rounded:,f}".replace(",", separator)

    return whole


def _truncated(text: str, length: int) -> str:
    """`truncatechars:length`, without building a Truncator for text that fits."""
    return text if len(text) <= length else Truncator(text).chars(length)


@role_required(*PIPELINE_ROLES)
def board(request: HttpRequest) -> HttpResponse:
    default_scope = "mine" if request.user.is_rep else "all"
    scope = request.GET.get("scope", default_scope)
    return render(request, "handoffs/deals/board.html", _board_context(request, scope=scope))


def _filtered_deals(request: HttpRequest, data: QueryDict) -> tuple[DealFilter, QuerySet[Deal]]:
    """The deal list's rows: its selector, its filters from `data`, its default order.
    The page and its exports both read them here."""
    deal_filter = DealFilter(data or None, queryset=deal_list_queryset(request.user), user=request.user)
    deals = deal_filter.qs if deal_filter.is_bound else deal_filter.queryset.order_by("-created_at", "-id")
    return deal_filter, deals


@role_required(*PIPELINE_ROLES)
def deal_list(request: HttpRequest) -> HttpResponse:
    deal_filter, deals = _filtered_deals(request, request.GET)
    # A manager sees ~17k deals, an admin 100k: an exact COUNT cost more than the page.
    # The rows read only the columns the table shows (the exports read them all).
    # Unfiltered, the team's deals usually pass the cap on their own (the probe).
    probe = deals_of_teams_visible_to(request.user) if narrows_nothing(deal_filter) else None
    page = CappedPaginator(deals.only(*DEAL_LIST_ROW_FIELDS), PAGE_SIZE, cap_probe=probe).get_page(
        request.GET.get("page")
    )
    page.object_list = list(page.object_list)
    # Each row's two links: reversed once for the page, not twice per row. Its numbers,
    # dates and owner formatted here, as the template's filters would, without their
    # lookups per cell (issue 17: filters and tags were a third of the page's time).
    detail_url = url_for_each("handoffs:deal_detail")
    account_url = url_for_each("handoffs:account_detail")
    day_month_year = _day_month_year_format()
    owners_html: dict[int, str] = {}
    for deal in page.object_list:
        deal.detail_url = detail_url(deal.pk)
        deal.account_url = account_url(deal.account_id)
        deal.amount_display = floatformat(deal.amount, "2g")
        deal.next_step_short = _truncated(deal.next_step, 50)
        deal.due_display = day_month_year(deal.next_step_due)
        deal.close_display = day_month_year(deal.expected_close_date) or "—"
        if deal.owner_id not in owners_html:
            owners_html[deal.owner_id] = person(deal.owner)
        deal.owner_html = owners_html[deal.owner_id]
    form = deal_filter.form
    owners = [(user.pk, str(user)) for user in deal_filter.filters["owner"].queryset]
    current_order = request.GET.get("o", "")
    columns = [
        {
            "label": label,
            "next": f"-{key}" if current_order == key else key,
            "direction": {key: "up", f"-{key}": "down"}.get(current_order, ""),
        }
        for key, label in SORTABLE_COLUMNS
    ]
    context = {
        "filter": deal_filter,
        "page_obj": page,
        "columns": columns,
        "stage_options": select_options(form["stage"], form.fields["stage"].choices),
        "owner_options": select_options(form["owner"], [("", form.fields["owner"].empty_label), *owners]),
        "today": timezone.localdate(),
    }
    return render(request, "handoffs/deals/list.html", context)


@role_required(*PIPELINE_ROLES)
@require_GET
def deal_export(request: HttpRequest) -> HttpResponse:
    """Every row of the deal list as filtered (`?format=csv|xlsx` + the list's query)."""
    export_format = export_format_of(request)
    _, deals = _filtered_deals(request, list_filters(request))
    return export_response(deals, columns=DEAL_COLUMNS, export_format=export_format, name="deals")


@role_required(*PIPELINE_ROLES)
@require_GET
def promise_export(request: HttpRequest) -> HttpResponse:
    """The promises of the deals the deal list shows as filtered (there is no promise
    list page: a deal's promises are on its page); read as the API's promise list reads
    them (handoffs.selectors.promises.promise_list_queryset), oldest deal first."""
    export_format = export_format_of(request)
    _, deals = _filtered_deals(request, list_filters(request))
    visible = promise_list_queryset(request.user)
    promises = visible.filter(deal__in=deals.order_by().values("pk")).order_by("deal_id", "id")
    return export_response(promises, columns=PROMISE_COLUMNS, export_format=export_format, name="promises")


@role_required(*PIPELINE_ROLES)
def deal_create_view(request: HttpRequest) -> HttpResponse:
    initial = {"next_step_due": None}
    account_id = parse_id(request.GET.get("account"))
    if account_id is not None:
        initial["account"] = get_object_or_404(accounts_visible_to(request.user), pk=account_id).pk
    form = DealForm(request.POST or None, initial=initial, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            deal = deal_create(
                actor=request.user,
                account=form.cleaned_data["account"],
                owner=form.cleaned_data.get("owner"),
                **form.service_values(),
            )
        except ValidationError as error:
            add_service_error(form, error)
        except PermissionDenied as error:
            form.add_error("account", str(error))
        else:
            messages.success(request, f"Deal “{deal}” opened.")
            return redirect("handoffs:deal_detail", pk=deal.pk)
    return render(request, "handoffs/deals/form.html", {"form": form, "deal": None})


@login_required
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = deal_for_detail(request.user, pk)
    return render(request, "handoffs/deals/detail.html", _detail_context(request, deal))


def _detail_context(request: HttpRequest, deal: Deal, **forms) -> dict:
    can_edit = deal_editable_by(request.user, deal)
    context = {
        "deal": deal,
        "can_edit": can_edit,
        "can_reopen": not deal.is_open and deal_reopenable_by(request.user, deal),
        "timeline": deal_timeline(deal, before=timeline_cursor(request.GET.get("timeline_before"))),
        "today": timezone.localdate(),
        "handoff": getattr(deal, "handoff", None),
        # The hand-off packet's checklist, before the close (handoffs.packet), and on a won
        # deal whose hand-off waits for it (a close from a CRM: handoffs.packet.packet_pending).
        "packet_pending": packet_pending(deal),
        "packet": deal_packet(deal) if deal.is_open or packet_pending(deal) else None,
    }
    if context["packet_pending"] and packet_pending_waivable_by(request.user, deal):
        context["waive_form"] = PacketPendingWaiveForm()
    # Promises: each row says whether the viewer may work it (handoffs.access.user_may_work_promise).
    context["promises"] = list(deal.promises.all())
    may_add = mark_workable(request.user, context["promises"], deal=deal, handoff=context["handoff"])
    context["may_add_promise"] = may_add and deal.stage != Stage.LOST
    if context["may_add_promise"]:
        context["promise_form"] = forms.get("promise_form") or PromiseForm()
    if can_edit:
        context["contact_form"] = forms.get("contact_form") or DealContactForm(deal=deal)
        context["has_addable_contacts"] = contacts_addable_to(deal).exists()
    return context


@login_required
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    deal = deal_for_change(request.user, pk)
    _editable_or_403(request.user, deal)
    form = DealForm(request.POST or None, instance=deal, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            deal_update(
                actor=request.user,
                deal=deal,
                expected_version=form.cleaned_data["version"],
                owner=form.cleaned_data.get("owner"),
                **form.service_values(),
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Deal saved.")
            return redirect("handoffs:deal_detail", pk=deal.pk)
    return render(request, "handoffs/deals/form.html", {"form": form, "deal": deal})


def _board_url(scope: str | None) -> str:
    """The board, in the scope ("mine" or "all") the user was looking at."""
    url = reverse("handoffs:board")
    return f"{url}?scope={scope}" if scope in ("mine", "all") else url


@login_required
@require_POST
def deal_stage(request: HttpRequest, pk: int) -> HttpResponse:
    """A stage move from the board: a card dragged to another column or a stage chosen in
    its menu (a plain form, so it works without JavaScript). htmx gets the board back,
    re-rendered (with the reason when the move was refused: 409 stale, 422 not allowed);
    a plain post is redirected to the board. Won and lost are not moves but closes: both
    are sent on to the close form, with the outcome chosen."""
    deal = deal_for_change(request.user, pk)
    _editable_or_403(request.user, deal)
    form = StageMoveForm(request.POST)
    scope = request.POST.get("scope")
    error_message = None
    status = 200
    if not form.is_valid():
        error_message, status = "Choose a stage.", 422
    elif form.cleaned_data["stage"] in CLOSED_STAGES and deal.is_open:
        close_url = f"{reverse('handoffs:deal_close', args=[deal.pk])}?outcome={form.cleaned_data['stage']}"
        if request.htmx:
            response = HttpResponse()
            response["HX-Redirect"] = close_url
            return response
        response = redirect(close_url)
        response.status_code = 303  # See Other: the browser GETs the form, whatever it posted
        return response
    else:
        try:
            deal = deal_move_stage(
                actor=request.user,
                deal=deal,
                stage=form.cleaned_data["stage"],
                expected_version=form.cleaned_data["version"],
            )
        except StaleEditError:
            error_message, status = (
                f"“{deal}” was changed by someone else meanwhile: the board now shows it as saved.",
                409,
            )
        except ValidationError as error:
            error_message, status = " ".join(error.messages), 422
    if not request.htmx:
        if error_message:
            messages.error(request, error_message)
        else:
            messages.success(request, f"“{deal}” moved to {deal.get_stage_display()}.")
        return see_other(request, _board_url(scope))
    context = _board_context(request, scope=scope or "mine", board_error=error_message)
    # 409 and 422 are swapped in too (see the board's script) so the user sees why.
    return render(request, "handoffs/deals/_board.html", context, status=status)


@login_required
def deal_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    deal = deal_for_change(request.user, pk)
    _editable_or_403(request.user, deal)
    if not deal.is_open:
        messages.info(request, "This deal is already closed.")
        return redirect("handoffs:deal_detail", pk=deal.pk)
    initial = {
        "outcome": request.GET.get("outcome") if request.GET.get("outcome") in CLOSED_STAGES else None,
        "closed_on": timezone.localdate(),
        "final_amount": deal.amount,
        "version": deal.version,
    }
    form = DealCloseForm(request.POST or None, initial=initial)
    refused_parts: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            deal_close(
                actor=request.user,
                deal=deal,
                outcome=data["outcome"],
                closed_on=data["closed_on"],
                final_amount=data["final_amount"],
                reason=data["reason"],
                lost_reason=data["lost_reason"],
                packet_waiver_reason=data["packet_waiver_reason"],
                expected_version=data["version"],
            )
        except ValidationError as error:
            # The packet's parts are shown with their links to fix each; the rest on the form.
            refused_parts, rest = packet_errors_split(error)
            if rest is not None:
                add_service_error(form, rest)
        else:
            if data["outcome"] == Stage.WON:
                messages.success(request, "Deal won — its hand-off has started.")
            else:
                messages.info(request, "Deal logged as lost.")
            return redirect("handoffs:deal_detail", pk=deal.pk)
    context = {"form": form, "deal": deal, "packet": deal_packet(deal), "refused_parts": refused_parts}
    return render(request, "handoffs/deals/close.html", context)


@login_required
@require_POST
def deal_no_promises_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The packet card's "No promises were made" (ticked, or withdrawn)."""
    deal = deal_for_change(request.user, pk)
    _editable_or_403(request.user, deal)
    form = NoPromisesForm(request.POST)
    form.is_valid()  # a lone optional checkbox: always valid
    try:
        deal_no_promises_set(actor=request.user, deal=deal, no_promises_made=form.cleaned_data["no_promises_made"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Saved: the packet's promises part is updated.")
    return redirect(f"{reverse('handoffs:deal_detail', args=[deal.pk])}#packet")


@login_required
def deal_reopen_view(request: HttpRequest, pk: int) -> HttpResponse:
    deal = deal_for_change(request.user, pk)
    if not deal_reopenable_by(request.user, deal):
        raise PermissionDenied("Only a manager of this deal's team or an admin reopens a closed deal.")
    if deal.is_open:
        return redirect("handoffs:deal_detail", pk=deal.pk)
    form = DealReopenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            deal_reopen(actor=request.user, deal=deal, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Deal reopened.")
            return redirect("handoffs:deal_detail", pk=deal.pk)
    return render(request, "handoffs/deals/reopen.html", {"form": form, "deal": deal})


@login_required
@require_POST
def promise_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a promise: before the close the rep's (and their managers'), after the hand-off
    also the delivery owner's (handoffs.access.user_may_work_promise)."""
    deal = deal_for_change(request.user, pk)
    if not user_may_work_promise(request.user, deal=deal, handoff=getattr(deal, "handoff", None)):
        raise PermissionDenied("Only the rep, the delivery owner or their managers add promises to this deal.")
    form = PromiseForm(request.POST)
    if form.is_valid():
        try:
            promise_add(actor=request.user, deal=deal, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Promise recorded.")
            return redirect(f"{reverse('handoffs:deal_detail', args=[deal.pk])}#promises")
    detail = deal_for_detail(request.user, pk)
    return render(request, "handoffs/deals/detail.html", _detail_context(request, detail, promise_form=form))


@login_required
@require_POST
def deal_contact_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    deal = deal_for_change(request.user, pk)
    _editable_or_403(request.user, deal)
    form = DealContactForm(request.POST, deal=deal)
    if form.is_valid():
        try:
            deal_contact_add(actor=request.user, deal=deal, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"{form.cleaned_data['contact']} added to the deal.")
            return redirect(f"{reverse('handoffs:deal_detail', args=[deal.pk])}#contacts")
    detail = deal_for_detail(request.user, pk)
    return render(request, "handoffs/deals/detail.html", _detail_context(request, detail, contact_form=form))
