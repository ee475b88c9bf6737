"""A contact's personal data (admins, issue 15): the page with its two buttons, the JSON
export, and the erasure behind a typed confirmation. Thin views: access (admins only;
anonymous → login) → form → service → redirect."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.access import role_required
from accounts.choices import Role
from accounts.common.forms import add_service_error
from accounts.models import Contact
from followups.personal_data import BEST_EFFORT_NOTE, contact_personal_data
from followups.services.personal_data import CONFIRMATION_WORD, contact_erase, contact_personal_data_export

# The export's sections the page counts, in its order.
HELD_SECTIONS = [
    ("deals", "Deals they are on"),
    ("meetings", "Meetings they were invited to"),
    ("pulses", "Customer pulses"),
    ("messages", "Messages sent or queued to them"),
    ("timeline_events", "Timeline events naming them"),
    ("team_notifications", "Team notifications naming them"),
    ("webhook_and_team_messages", "Webhook and team messages naming them"),
    ("crm_deliveries", "CRM deliveries carrying their e-mail"),
    ("import_rejected_rows", "Rejected import rows carrying their e-mail"),
    ("imported_files", "Imported files carrying their e-mail"),
]


class ErasureForm(forms.Form):
    """The typed confirmation of an erasure (checked again by the service)."""

    confirmation = forms.CharField(
        label="To confirm, type the contact's e-mail address or ERASE",
        max_length=254,
        strip=True,
    )


def _contact(contact_id: int) -> Contact:
    # Admins see every account, so every contact: no team scope to apply here.
    return get_object_or_404(Contact.objects.select_related("account"), pk=contact_id)


def _page(request: HttpRequest, contact: Contact, form: ErasureForm) -> HttpResponse:
    # What the export would hold, counted (reading is not exporting: no audit entry).
    document = contact_personal_data(contact)
    context = {
        "contact": contact,
        "account": contact.account,
        "form": form,
        "confirmation_word": CONFIRMATION_WORD,
        "best_effort_note": BEST_EFFORT_NOTE,
        "held": [(label, len(document[key])) for key, label in HELD_SECTIONS],
    }
    return render(request, "followups/personal_data/page.html", context)


@role_required(Role.ADMIN)
@require_GET
def contact_personal_data_page(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _page(request, _contact(contact_id), ErasureForm())


@role_required(Role.ADMIN)
@require_GET
def contact_personal_data_export_view(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _contact(contact_id)
    document = contact_personal_data_export(actor=request.user, contact=contact)
    response = HttpResponse(
        json.dumps(document, indent=2, ensure_ascii=False, default=str), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}-personal-data.json"'
    response["Cache-Control"] = "no-store"
    return response


@role_required(Role.ADMIN)
@require_POST
def contact_erase_view(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _contact(contact_id)
    form = ErasureForm(request.POST)
    if form.is_valid():
        try:
            erasure = contact_erase(actor=request.user, contact=contact, confirmation=form.cleaned_data["confirmation"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                f"The contact is erased: now “{erasure.contact}”. {erasure.messages_cancelled} pending "
                f"message(s) cancelled, {erasure.rows_scrubbed} mention(s) elsewhere scrubbed.",
            )
            return redirect("followups:contact_personal_data", contact_id=contact.pk)
    return _page(request, contact, form)
