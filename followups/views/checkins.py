"""Check-in pages: "My check-ins", logging and rescheduling one, adding one by hand."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import role_required
from accounts.choices import Role
from accounts.common.exports import export_format_of, export_response, list_filters
from accounts.common.forms import add_service_error
from accounts.common.http import safe_next_url
from accounts.models import User
from followups.access import checkin_reps_for, checkins_workable_by
from followups.exports import CHECKIN_COLUMNS
from followups.forms import CheckinAddForm, CheckinLogForm, CheckinRescheduleForm
from followups.selectors.checkins import (
    checkin_list_queryset,
    checkin_sections_for,
    handoffs_open_to_checkins_for,
    overdue_checkins_page,
    user_local_today,
)
from followups.services.checkins import checkin_add, checkin_log, checkin_reschedule
from followups.views.checkin_rows import CheckinRowWriter

CHECKIN_ROLES = (Role.REP, Role.MANAGER)


class CheckinRepFilterForm(forms.Form):
    """The manager's "whose check-ins" filter."""

    rep = forms.ModelChoiceField(queryset=None, required=False, empty_label="Everyone in my team")

    def __init__(self, *args, reps, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = reps


def _rep_filter(request: HttpRequest, data: QueryDict) -> tuple[CheckinRepFilterForm | None, User | None]:
    """The manager's "whose check-ins" filter from `data` (none for a rep), and the rep
    it names (None: everyone the user may work for). The page and its exports read it."""
    user = request.user
    if not (user.is_manager or user.is_admin_role):
        return None, None
    filter_form = CheckinRepFilterForm(data or None, reps=checkin_reps_for(user))
    return filter_form, filter_form.cleaned_data["rep"] if filter_form.is_valid() else None


@role_required(*CHECKIN_ROLES)
@require_GET
def my_checkins(request: HttpRequest) -> HttpResponse:
    user = request.user
    filter_form, rep = _rep_filter(request, request.GET)
    show_rep = filter_form is not None
    context = {"filter_form": filter_form, "show_rep": show_rep, "rep": rep}
    # Each section's rows as HTML, written once here (followups.views.checkin_rows).
    writer = CheckinRowWriter(show_rep=show_rep)
    if request.GET.get("show") == "overdue":
        # Every overdue check-in, a page at a time (the main page shows the most overdue).
        overdue_page = overdue_checkins_page(user, rep=rep, page_number=request.GET.get("page"), rep_names=show_rep)
        context["overdue_page"] = overdue_page
        context["overdue_rows"] = writer.rows(overdue_page.object_list, section="overdue")
        context["today"] = user_local_today(user)
    else:
        sections = checkin_sections_for(user, rep=rep, rep_names=show_rep)
        context["sections"] = sections
        context["section_rows"] = {
            "overdue": writer.rows(sections.overdue, section="overdue"),
            "today": writer.rows(sections.due_today, section="today"),
            "upcoming": writer.rows(sections.upcoming, section="upcoming"),
            "done": writer.rows(sections.recently_done, section="done"),
        }
    return render(request, "followups/checkins/my_checkins.html", context)


@role_required(*CHECKIN_ROLES)
@require_GET
def checkin_export(request: HttpRequest) -> HttpResponse:
    """The check-ins of "My check-ins" (`?format=csv|xlsx` + the page's query): every
    check-in the user may work, of the rep the manager chose; with `show=overdue`, the
    overdue ones only, as on the page's overdue list. Soonest due first."""
    export_format = export_format_of(request)
    data = list_filters(request)
    _, rep = _rep_filter(request, data)
    checkins = checkin_list_queryset(request.user)
    if rep is not None:
        checkins = checkins.filter(rep=rep)
    if data.get("show") == "overdue":
        checkins = checkins.filter(is_overdue=True)
    checkins = checkins.order_by("due_on", "id")
    return export_response(checkins, columns=CHECKIN_COLUMNS, export_format=export_format, name="checkins")


@role_required(*CHECKIN_ROLES)
@require_http_methods(["GET", "POST"])
def checkin_log_view(request: HttpRequest, pk: int) -> HttpResponse:
    checkin = get_object_or_404(
        checkins_workable_by(request.user).select_related("account", "rep", "handoff__deal", "handoff__delivery_owner"),
        pk=pk,
    )
    form = CheckinLogForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            checkin_log(actor=request.user, checkin=checkin, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Check-in with {checkin.account} logged.")
            return redirect(safe_next_url(request, fallback="followups:my_checkins"))
    return render(request, "followups/checkins/log.html", {"checkin": checkin, "form": form})


@role_required(*CHECKIN_ROLES)
@require_http_methods(["GET", "POST"])
def checkin_reschedule_view(request: HttpRequest, pk: int) -> HttpResponse:
    checkin = get_object_or_404(
        checkins_workable_by(request.user).select_related("account", "rep", "handoff__deal"), pk=pk
    )
    form = CheckinRescheduleForm(request.POST or None, initial={"new_due_on": checkin.due_on})
    if request.method == "POST" and form.is_valid():
        try:
            checkin_reschedule(actor=request.user, checkin=checkin, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request, f"Check-in with {checkin.account} moved to {form.cleaned_data['new_due_on']:%d %b %Y}."
            )
            return redirect(safe_next_url(request, fallback="followups:my_checkins"))
    history = checkin.reschedules.select_related("rescheduled_by")
    return render(request, "followups/checkins/reschedule.html", {"checkin": checkin, "form": form, "history": history})


@role_required(*CHECKIN_ROLES)
@require_http_methods(["GET", "POST"])
def checkin_add_view(request: HttpRequest, handoff_pk: int) -> HttpResponse:
    handoff = get_object_or_404(handoffs_open_to_checkins_for(request.user), pk=handoff_pk)
    form = CheckinAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            checkin = checkin_add(actor=request.user, handoff=handoff, due_on=form.cleaned_data["due_on"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Check-in with {checkin.account} added for {checkin.due_on:%d %b %Y}.")
            return redirect(safe_next_url(request, fallback="followups:my_checkins"))
    return render(request, "followups/checkins/add.html", {"handoff": handoff, "form": form})
