"""Hand-off pages: the list, "my hand-offs", the detail page and its htmx actions,
the printable brief, and the meeting forms. Thin: access → form → service → response."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import django_filters
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST

from accounts.common.exports import export_format_of, export_response, list_filters
from accounts.common.forms import add_service_error
from accounts.common.http import see_other
from accounts.common.links import url_for_each
from accounts.common.pagination import CappedPaginator, narrows_nothing
from accounts.common.timeline import timeline_cursor
from handoffs.access import (
    handoffs_of_teams_visible_to,
    user_may_answer_proposal,
    user_may_complete_handoff,
    user_may_propose_owner,
    user_may_work_handoff,
)
from handoffs.choices import HandoffStatus, MeetingStatus, Stage
from handoffs.exports import HANDOFF_COLUMNS
from handoffs.forms.deals import PromiseForm
from handoffs.forms.handoffs import (
    DeclineForm,
    MeetingCancelForm,
    MeetingRecordForm,
    MeetingScheduleForm,
    MeetingTimeForm,
    ProposeOwnerForm,
    StepSkipForm,
)
from handoffs.models import Handoff
from handoffs.selectors.deals import deal_timeline
from handoffs.selectors.handoffs import (
    attach_list_rows,
    current_meeting,
    handoff_for_change,
    handoff_for_detail,
    handoff_list_queryset,
    handoff_owner_choices,
    meeting_for_change,
    my_handoff_row,
    my_handoffs,
    overdue_condition,
    step_for_change,
    with_overdue,
)
from handoffs.selectors.promises import mark_workable
from handoffs.services import handoffs as services
from handoffs.views.my_handoff_rows import my_work_rows

PAGE_SIZE = 50


def _error_messages(error: ValidationError) -> list[str]:
    return (
        [message for messages_ in error.message_dict.values() for message in messages_]
        if hasattr(error, "error_dict")
        else list(error.messages)
    )


class HandoffFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=HandoffStatus.choices, empty_label="Any status")
    owner = django_filters.ModelChoiceFilter(
        field_name="delivery_owner", queryset=None, label="Delivery owner", empty_label="Any owner"
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue",
        label="Overdue",
        widget=django_filters.widgets.BooleanWidget,
    )

    class Meta:
        model = Handoff
        fields = ["status", "owner", "overdue"]

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filters["owner"].queryset = handoff_owner_choices(user)

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        late = overdue_condition(timezone.localdate())
        return queryset.filter(late) if value else queryset.exclude(late)


def _handoff_filter(request: HttpRequest, data: QueryDict) -> HandoffFilter:
    """The hand-off list's filters from `data` over its selector (the page and its exports)."""
    return HandoffFilter(data or None, queryset=handoff_list_queryset(request.user), user=request.user)


@login_required
def handoff_list(request: HttpRequest) -> HttpResponse:
    handoffs = _handoff_filter(request, request.GET)
    # Paginate first: the late-step counts are read for the page's rows only. The count
    # stops at 2,001 (an admin sees all 60k hand-offs at scale 1); unfiltered, the
    # hand-offs of the team's deals usually pass that on their own (the probe).
    probe = handoffs_of_teams_visible_to(request.user) if narrows_nothing(handoffs) else None
    page = CappedPaginator(handoffs.qs, PAGE_SIZE, cap_probe=probe).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    rows = attach_list_rows(list(page.object_list))
    detail_url = url_for_each("handoffs:handoff_detail")  # one reverse() for the page
    for handoff in rows:
        handoff.detail_url = detail_url(handoff.pk)
    # A list read once (a ModelChoiceField's choices would COUNT, then SELECT), each
    # marked if chosen: the menu does not re-read the bound form for each of its leads.
    chosen_owner = str(handoffs.form["owner"].value() or "")
    owner_choices = list(handoffs.filters["owner"].queryset)
    for owner in owner_choices:
        owner.chosen = str(owner.pk) == chosen_owner
    return render(
        request,
        "handoffs/handoff/list.html",
        {
            "filter": handoffs,
            "page": page,
            "handoffs": rows,
            "owner_choices": owner_choices,
            "query": query.urlencode(),
        },
    )


@login_required
@require_GET
def handoff_export(request: HttpRequest) -> HttpResponse:
    """Every row of the hand-off list as filtered (`?format=csv|xlsx` + the list's query),
    each with the list's "overdue" flag computed in the same query."""
    export_format = export_format_of(request)
    handoffs = with_overdue(_handoff_filter(request, list_filters(request)).qs)
    return export_response(handoffs, columns=HANDOFF_COLUMNS, export_format=export_format, name="handoffs")


def _link_inbox_rows(handoffs: list[Handoff]) -> dict[str, str]:
    """Set the links of My hand-offs' rows (`detail_url`, `brief_url`, and each next
    step's `complete_url`), one reverse() per kind for the page (url_for_each) instead
    of a {% url %} per row and step; returns the page's own URL for the forms' `next`."""
    detail_url = url_for_each("handoffs:handoff_detail")
    brief_url = url_for_each("handoffs:handoff_brief")
    complete_url = url_for_each("handoffs:step_complete")
    for handoff in handoffs:
        handoff.detail_url = detail_url(handoff.pk)
        handoff.brief_url = brief_url(handoff.pk)
        for step in getattr(handoff, "next_steps", ()):
            step.complete_url = complete_url(step.pk)
    return {"my_handoffs_url": reverse("handoffs:my_handoffs")}


def _my_work_row_writer(request: HttpRequest, links: dict[str, str]) -> Callable[..., SafeString]:
    """my_work_rows for this request's user, CSRF token and My hand-offs' URL: the page's
    rows and the single row htmx swaps in after a tick are written alike."""
    return partial(
        my_work_rows, user_pk=request.user.pk, csrf_token=get_token(request), next_url=links["my_handoffs_url"]
    )


@login_required
def my_handoffs_view(request: HttpRequest) -> HttpResponse:
    inbox = my_handoffs(request.user)
    links = _link_inbox_rows([*inbox.declined, *inbox.waiting, *inbox.mine, *inbox.sold])
    # The rows people work from (a lead's ~110) are written in Python (my_handoff_rows).
    write_rows = _my_work_row_writer(request, links)
    context = {"inbox": inbox, "mine_rows": write_rows(inbox.mine), "sold_rows": write_rows(inbox.sold), **links}
    return render(request, "handoffs/handoff/my.html", context)


def _detail_context(request: HttpRequest, handoff: Handoff, **extra) -> dict:
    user = request.user
    meeting = current_meeting(handoff)
    may_work = user_may_work_handoff(user, handoff)
    promises = list(handoff.deal.promises.all())
    context = {
        "handoff": handoff,
        "deal": handoff.deal,
        "steps": list(handoff.steps.all()),
        "meeting": meeting,
        "past_meetings": [m for m in handoff.meetings.all() if m != meeting],
        "promises": promises,
        "may_add_promise": mark_workable(user, promises, deal=handoff.deal, handoff=handoff)
        and handoff.deal.stage != Stage.LOST,
        "promise_form": PromiseForm(),
        "timeline": deal_timeline(handoff.deal, before=timeline_cursor(request.GET.get("timeline_before"))),
        "may_work": may_work,
        "may_propose": user_may_propose_owner(user, handoff) and handoff.status in services.PROPOSABLE_STATUSES,
        "may_answer": user_may_answer_proposal(user, handoff),
        "may_schedule": may_work and handoff.status == HandoffStatus.ACCEPTED,
        "may_record": may_work
        and meeting is not None
        and meeting.status == MeetingStatus.SCHEDULED
        and meeting.starts_at <= timezone.now(),
        "may_complete": handoff.status == HandoffStatus.MEETING_HELD and user_may_complete_handoff(user, handoff),
        "steps_locked": handoff.status in (HandoffStatus.DECLINED, HandoffStatus.COMPLETE),
        "today": timezone.localdate(),
        "propose_form": ProposeOwnerForm(handoff=handoff),
        "decline_form": DeclineForm(),
    }
    context.update(extra)
    return context


@login_required
def handoff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    handoff = handoff_for_detail(request.user, pk)
    return render(request, "handoffs/handoff/detail.html", _detail_context(request, handoff))


@login_required
def handoff_brief(request: HttpRequest, pk: int) -> HttpResponse:
    handoff = handoff_for_detail(request.user, pk)
    return render(
        request,
        "handoffs/handoff/brief.html",
        {
            "handoff": handoff,
            "deal": handoff.deal,
            "account": handoff.deal.account,
            "deal_contacts": list(handoff.deal.deal_contacts.all()),
            "promises": list(handoff.deal.promises.all()),
            "steps": list(handoff.steps.all()),
            "may_answer": user_may_answer_proposal(request.user, handoff),
        },
    )


def _ownership_response(request: HttpRequest, pk: int, *, status: int = 200, **extra) -> HttpResponse:
    """The ownership panel alone for htmx. Without JavaScript, back to the page (303, to
    a safe `next` or the hand-off) whatever happened, the message saying what: the whole
    page, never a bare fragment, and a reload does not post again."""
    if request.htmx:
        handoff = handoff_for_detail(request.user, pk)
        return render(
            request, "handoffs/handoff/_ownership_panel.html", _detail_context(request, handoff, **extra), status=status
        )
    for message in extra.get("errors", []):
        messages.error(request, message)
    return see_other(request, "handoffs:handoff_detail", pk=pk)


def _act(request: HttpRequest, pk: int, action: Callable[[Handoff], object], success: str, **extra) -> HttpResponse:
    handoff = handoff_for_change(request.user, pk)
    try:
        action(handoff)
    except ValidationError as error:
        return _ownership_response(request, pk, status=422, errors=_error_messages(error), **extra)
    if not request.htmx:
        messages.success(request, success)
    return _ownership_response(request, pk, notice=success)


@require_POST
@login_required
def handoff_propose(request: HttpRequest, pk: int) -> HttpResponse:
    handoff = handoff_for_change(request.user, pk)
    form = ProposeOwnerForm(request.POST, handoff=handoff)
    if not form.is_valid():
        return _ownership_response(request, pk, status=422, propose_form=form, errors=["Choose a delivery lead."])
    owner = form.cleaned_data["owner"]
    return _act(
        request,
        pk,
        lambda h: services.handoff_propose_owner(actor=request.user, handoff=h, owner=owner),
        f"{owner} was asked to take the hand-off.",
        propose_form=form,
    )


@require_POST
@login_required
def handoff_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda h: services.handoff_accept(actor=request.user, handoff=h),
        "You accepted the hand-off: the account is yours.",
    )


@require_POST
@login_required
def handoff_decline(request: HttpRequest, pk: int) -> HttpResponse:
    form = DeclineForm(request.POST)
    if not form.is_valid():
        handoff_for_change(request.user, pk)
        return _ownership_response(request, pk, status=422, decline_form=form, errors=["Say why you decline."])
    return _act(
        request,
        pk,
        lambda h: services.handoff_decline(actor=request.user, handoff=h, reason=form.cleaned_data["reason"]),
        "You declined the hand-off; the manager was told.",
        decline_form=form,
    )


@require_POST
@login_required
def handoff_complete(request: HttpRequest, pk: int) -> HttpResponse:
    handoff = handoff_for_change(request.user, pk)
    try:
        services.handoff_complete(actor=request.user, handoff=handoff)
    except ValidationError as error:
        for message in _error_messages(error):
            messages.error(request, message)
    else:
        messages.success(request, "The hand-off is complete.")
    return see_other(request, "handoffs:handoff_detail", pk=pk)


# The step forms of My hand-offs say so (a hidden `row`): htmx then swaps the hand-off's
# row of that list, not a row of the hand-off page's step table.
MY_HANDOFFS_ROW = "my_handoffs"


def _step_response(
    request: HttpRequest, step_pk: int, *, done: str = "", error: str = "", status: int = 200
) -> HttpResponse:
    """htmx: the step's row again (or, from My hand-offs, the hand-off's row there), with
    the error if refused. Without JavaScript: back to the page (303, to a safe `next`,
    else My hand-offs or the hand-off), with a message saying what happened or why not."""
    step = step_for_change(request.user, step_pk)
    from_my_handoffs = request.POST.get("row") == MY_HANDOFFS_ROW
    errors = {"step_error": error, "step_error_pk": step.pk}
    if request.htmx and from_my_handoffs:
        handoff = my_handoff_row(request.user, step.handoff_id)
        write_row = _my_work_row_writer(request, _link_inbox_rows([handoff]))
        return HttpResponse(write_row([handoff], notice=done, step_error=error), status=status)
    if request.htmx:
        handoff = step.handoff
        return render(
            request,
            "handoffs/handoff/_step_row.html",
            {
                "step": step,
                "may_work": True,
                "steps_locked": handoff.status in (HandoffStatus.DECLINED, HandoffStatus.COMPLETE),
                "today": timezone.localdate(),
                **errors,
            },
            status=status,
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    if from_my_handoffs:
        return see_other(request, "handoffs:my_handoffs")
    return see_other(request, "handoffs:handoff_detail", pk=step.handoff_id)


def _step_action(request: HttpRequest, pk: int, action: Callable, done: str) -> HttpResponse:
    """Run a step's service; `done` says what happened, with the step's {title}."""
    step = step_for_change(request.user, pk)
    try:
        action(step)
    except ValidationError as error:
        return _step_response(request, pk, error=" ".join(_error_messages(error)), status=422)
    return _step_response(request, pk, done=done.format(title=step.title))


@require_POST
@login_required
def step_complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _step_action(
        request,
        pk,
        lambda step: services.handoff_step_complete(actor=request.user, step=step),
        "“{title}” is done.",
    )


@require_POST
@login_required
def step_skip(request: HttpRequest, pk: int) -> HttpResponse:
    form = StepSkipForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _step_action(
        request,
        pk,
        lambda step: services.handoff_step_skip(actor=request.user, step=step, reason=reason),
        "“{title}” was skipped.",
    )


@require_POST
@login_required
def step_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    return _step_action(
        request,
        pk,
        lambda step: services.handoff_step_reopen(actor=request.user, step=step),
        "“{title}” is open again.",
    )


def _may_work_or_403(user, handoff: Handoff) -> None:
    """The meeting forms: whoever may not submit one does not get it either (the same
    predicate the services check)."""
    if not user_may_work_handoff(user, handoff):
        raise PermissionDenied("Only the rep, the delivery owner or their managers run the hand-off meeting.")


@login_required
def meeting_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    handoff = handoff_for_change(request.user, pk)
    _may_work_or_403(request.user, handoff)
    form = MeetingScheduleForm(request.POST or None, handoff=handoff)
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_schedule(
                actor=request.user,
                handoff=handoff,
                starts_at=form.cleaned_data["starts_at"],
                duration_minutes=form.cleaned_data["duration_minutes"],
                location=form.cleaned_data["location"],
                contacts=list(form.cleaned_data["contacts"]),
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "The meeting is scheduled; the invites are on their way.")
            return redirect("handoffs:handoff_detail", pk=pk)
    return render(
        request,
        "handoffs/handoff/meeting_form.html",
        {"handoff": handoff, "form": form, "title": "Schedule the hand-off meeting"},
    )


@login_required
def meeting_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = meeting_for_change(request.user, pk)
    _may_work_or_403(request.user, meeting.handoff)
    initial = {
        "starts_at": timezone.localtime(meeting.starts_at).replace(tzinfo=None),
        "duration_minutes": meeting.duration_minutes,
        "location": meeting.location,
    }
    form = MeetingTimeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_reschedule(actor=request.user, meeting=meeting, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "The meeting moved; everyone gets an updated invite.")
            return redirect("handoffs:handoff_detail", pk=meeting.handoff_id)
    return render(
        request,
        "handoffs/handoff/meeting_form.html",
        {"handoff": meeting.handoff, "form": form, "title": "Move the hand-off meeting"},
    )


@require_POST
@login_required
def meeting_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = meeting_for_change(request.user, pk)
    form = MeetingCancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.meeting_cancel(actor=request.user, meeting=meeting, reason=reason)
    except ValidationError as error:
        for message in _error_messages(error):
            messages.error(request, message)
    else:
        messages.success(request, "The meeting is cancelled; the attendees are told.")
    return redirect("handoffs:handoff_detail", pk=meeting.handoff_id)


@login_required
def meeting_record(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = meeting_for_change(request.user, pk)
    handoff = meeting.handoff
    _may_work_or_403(request.user, handoff)
    promises = list(handoff.deal.promises.order_by("id"))
    form = MeetingRecordForm(request.POST or None, meeting=meeting, promises=promises)
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_record(
                actor=request.user,
                meeting=meeting,
                attended_user_ids=form.cleaned_data["attended_users"],
                attended_contact_ids=form.cleaned_data["attended_contacts"],
                agreement=form.cleaned_data["agreement"],
                promise_reviews=form.promise_reviews(),
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "The meeting is recorded; the customer summary is on its way.")
            return redirect("handoffs:handoff_detail", pk=handoff.pk)
    return render(
        request, "handoffs/handoff/meeting_record.html", {"handoff": handoff, "meeting": meeting, "form": form}
    )
