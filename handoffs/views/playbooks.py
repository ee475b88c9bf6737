"""The playbook editor (admins only): an ordered list of steps per playbook."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts.access import role_required
from accounts.choices import Role
from accounts.common.forms import add_service_error
from handoffs.forms.playbooks import PlaybookForm, PlaybookStepFormSet, steps_from_formset
from handoffs.models import Playbook
from handoffs.selectors.handoffs import playbook_list as playbooks_with_counts
from handoffs.services.playbooks import playbook_create as create_playbook
from handoffs.services.playbooks import playbook_update


@role_required(Role.ADMIN)
def playbook_list(request: HttpRequest) -> HttpResponse:
    return render(request, "handoffs/playbooks/list.html", {"playbooks": list(playbooks_with_counts())})


@role_required(Role.ADMIN)
def playbook_create(request: HttpRequest) -> HttpResponse:
    form = PlaybookForm(request.POST or None, initial={"is_active": True, "checkin_cadence": "7, 30, 90"})
    steps = PlaybookStepFormSet(request.POST or None, prefix="steps")
    if request.method == "POST" and form.is_valid() and steps.is_valid():
        data = form.cleaned_data
        try:
            playbook = create_playbook(
                actor=request.user,
                name=data["name"],
                segment=data["segment"],
                is_default=data["is_default"],
                checkin_cadence=data["checkin_cadence"],
                steps=steps_from_formset(steps),
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"The playbook “{playbook}” was created.")
            return redirect("handoffs:playbook_list")
    return render(request, "handoffs/playbooks/form.html", {"form": form, "steps": steps, "title": "New playbook"})


@role_required(Role.ADMIN)
def playbook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = get_object_or_404(Playbook, pk=pk)
    initial_steps = [
        {
            "title": step.title,
            "owner_role": step.owner_role,
            "due_offset_days": step.due_offset_days,
            "required": step.required,
            "ORDER": step.position,
        }
        for step in playbook.steps.all()
    ]
    form = PlaybookForm(request.POST or None, initial=PlaybookForm.initial_for(playbook))
    steps = PlaybookStepFormSet(request.POST or None, prefix="steps", initial=initial_steps)
    if request.method == "POST" and form.is_valid() and steps.is_valid():
        data = form.cleaned_data
        try:
            playbook_update(
                actor=request.user,
                playbook=playbook,
                expected_version=data["version"] or 0,
                name=data["name"],
                segment=data["segment"],
                is_default=data["is_default"],
                is_active=data["is_active"],
                checkin_cadence=data["checkin_cadence"],
                steps=steps_from_formset(steps),
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"“{playbook}” was saved. Hand-offs already started keep their steps.")
            return redirect("handoffs:playbook_list")
    return render(
        request,
        "handoffs/playbooks/form.html",
        {"form": form, "steps": steps, "playbook": playbook, "title": f"Edit “{playbook}”"},
    )
