"""The People, Teams and Audit log pages (admins only), and the page where an invited
person chooses their password. Thin: access → form → service → redirect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import PasswordResetConfirmView
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse, reverse_lazy
from django.views.decorators.http import require_POST, require_safe

from accounts.access import role_required
from accounts.choices import Role
from accounts.common.forms import add_service_error
from accounts.common.timeline import timeline_cursor
from accounts.models import Team, User
from accounts.people.forms import AuditFilterForm, InviteForm, PeopleFilterForm, PersonForm, TeamForm
from accounts.people.rows import people_rows
from accounts.people.selectors import (
    audit_entries,
    audit_page,
    people_list,
    person_for_edit,
    teams_led_by,
    teams_list,
    user_history,
)
from accounts.people.services import (
    invitation_pending,
    people_deactivate,
    people_invite,
    people_lift_lockout,
    people_reactivate,
    people_resend_invite,
    people_update,
    team_create,
    team_delete,
    team_holdings,
    team_update,
)
from accounts.security.lockout import username_locked_out

PEOPLE_PAGE_SIZE = 100


def _person_or_404(user_id: int) -> User:
    person = person_for_edit(user_id)
    if person is None:
        raise Http404("No such person.")
    return person


# --- people ----------------------------------------------------------------------------


@role_required(Role.ADMIN)
@require_safe
def people_list_view(request: HttpRequest) -> HttpResponse:
    filter_form = PeopleFilterForm(request.GET)
    page = Paginator(people_list(**filter_form.filters()), PEOPLE_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    # The rows written once in Python, not by ~25 template nodes each (issue 17).
    rows = people_rows(page.object_list, teams_led_by(page.object_list))
    context = {"filter_form": filter_form, "page_obj": page, "rows": rows}
    return render(request, "accounts/people/list.html", context)


@role_required(Role.ADMIN)
def people_invite_view(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = people_invite(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"{person} is invited: the e-mail to {person.email} is on its way.")
            return redirect("people:edit", person.pk)
    return render(request, "accounts/people/invite.html", {"form": form})


@role_required(Role.ADMIN)
def person_edit_view(request: HttpRequest, user_id: int) -> HttpResponse:
    person = _person_or_404(user_id)
    form = PersonForm(request.POST or None, initial=PersonForm.initial_for(person))
    if request.method == "POST" and form.is_valid():
        try:
            people_update(actor=request.user, user=person, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"{person} was saved.")
            return redirect("people:edit", person.pk)
    context = {
        "person": person,
        "form": form,
        "history": user_history(person),
        "invitation_pending": invitation_pending(person),
        "locked_out": username_locked_out(person.username),
        "is_self": person.pk == request.user.pk,
    }
    return render(request, "accounts/people/edit.html", context)


def _open_work_url(user_id: int) -> str:
    # The open-work page belongs to followups (which accounts cannot import): found by
    # its URL name at run time.
    try:
        return reverse("followups:open_work", args=[user_id])
    except NoReverseMatch:
        return reverse("people:edit", args=[user_id])


@role_required(Role.ADMIN)
def person_deactivate_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """GET asks for confirmation; POST deactivates and shows the person's open work, for
    their manager to hand over."""
    person = _person_or_404(user_id)
    if request.method == "POST":
        try:
            people_deactivate(actor=request.user, user=person)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("people:edit", person.pk)
        messages.success(request, f"{person} is deactivated and can no longer sign in. Reassign their open work.")
        return redirect(_open_work_url(person.pk))
    return render(
        request, "accounts/people/deactivate.html", {"person": person, "is_self": person.pk == request.user.pk}
    )


@role_required(Role.ADMIN)
@require_POST
def person_reactivate_view(request: HttpRequest, user_id: int) -> HttpResponse:
    person = _person_or_404(user_id)
    people_reactivate(actor=request.user, user=person)
    messages.success(request, f"{person} can sign in again.")
    return redirect("people:edit", person.pk)


@role_required(Role.ADMIN)
@require_POST
def person_resend_invite_view(request: HttpRequest, user_id: int) -> HttpResponse:
    person = _person_or_404(user_id)
    try:
        people_resend_invite(actor=request.user, user=person)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"The invitation was sent again to {person.email}.")
    return redirect("people:edit", person.pk)


@role_required(Role.ADMIN)
@require_POST
def person_unlock_view(request: HttpRequest, user_id: int) -> HttpResponse:
    person = _person_or_404(user_id)
    if people_lift_lockout(actor=request.user, user=person):
        messages.success(request, f"{person} may sign in again now.")
    else:
        messages.info(request, f"{person} was not locked out.")
    return redirect("people:edit", person.pk)


# --- teams -----------------------------------------------------------------------------


@role_required(Role.ADMIN)
def team_list_view(request: HttpRequest) -> HttpResponse:
    """The teams, and a form to add one."""
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = team_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"The team “{team}” was created.")
            return redirect("people:team_list")
    return render(request, "accounts/people/teams.html", {"teams": list(teams_list()), "form": form})


@role_required(Role.ADMIN)
def team_edit_view(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_object_or_404(Team.objects.select_related("manager"), pk=team_id)
    form = TeamForm(request.POST or None, initial={"name": team.name, "manager": team.manager_id})
    if request.method == "POST" and form.is_valid():
        try:
            team_update(actor=request.user, team=team, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"The team “{form.cleaned_data['name']}” was saved.")
            return redirect("people:team_list")
    return render(
        request, "accounts/people/team_edit.html", {"team": team, "form": form, "holdings": team_holdings(team)}
    )


@role_required(Role.ADMIN)
@require_POST
def team_delete_view(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=team_id)
    try:
        team_delete(actor=request.user, team=team)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("people:team_edit", team.pk)
    messages.success(request, f"The team “{team}” was deleted.")
    return redirect("people:team_list")


# --- the audit log ---------------------------------------------------------------------


@role_required(Role.ADMIN)
@require_safe
def audit_log_view(request: HttpRequest) -> HttpResponse:
    filter_form = AuditFilterForm(request.GET)
    page = audit_page(audit_entries(**filter_form.filters()), before=timeline_cursor(request.GET.get("before")))
    return render(request, "accounts/people/audit.html", {"filter_form": filter_form, "page": page})


# --- the invited person's first visit --------------------------------------------------


class InviteAcceptView(PasswordResetConfirmView):
    """The link of the invitation e-mail: the person chooses a password and is signed in.

    Django's password-reset link, made when the e-mail is sent: it stops working once
    used (the token hashes the password, which is then set), after PASSWORD_RESET_TIMEOUT,
    and for a deactivated person."""

    template_name = "accounts/people/welcome.html"
    post_reset_login = True
    # Axes' backend only guards authenticate(); the session needs the model backend.
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("home")
    extra_context = {"title": "Welcome to Baton: choose your password"}

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set. Welcome to Baton!")
        return response
