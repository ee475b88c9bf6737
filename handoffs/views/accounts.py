"""Pages of customer accounts and their contacts.

An account the user may not read is a 404; one they may read but not change is a 403.
They live in handoffs, not beside the Account model, because who may read an account
depends on its deals and hand-offs (handoffs.access.accounts_visible_to), and the
account page shows them; the forms are accounts.forms, the changes accounts.services.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from accounts.access import account_editable_by, role_required, user_sells
from accounts.choices import Role
from accounts.common.forms import add_service_error
from accounts.common.timeline import timeline_cursor
from accounts.forms import AccountForm, ContactForm
from accounts.models import Contact
from accounts.services import account_create, account_update, contact_create, contact_update
from handoffs.access import accounts_visible_to
from handoffs.filters import AccountFilter
from handoffs.selectors.accounts import account_for_detail, account_list_queryset, account_timeline
from handoffs.selectors.promises import account_promise_ledger

PAGE_SIZE = 25
SORTABLE_COLUMNS = [("name", "Account"), ("owner", "Owner"), ("open_deals", "Open deals"), ("health", "Health")]


def _editable_or_403(user, account) -> None:
    if not account_editable_by(user, account):
        raise PermissionDenied("You may read this account but not change it.")


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    accounts = account_list_queryset(request.user)
    account_filter = AccountFilter(request.GET or None, queryset=accounts, accounts=accounts)
    rows = account_filter.qs if account_filter.is_bound else accounts.order_by("name", "pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    current_order = request.GET.get("o", "")
    columns = [
        {
            "label": label,
            "next": f"-{key}" if current_order == key else key,
            "direction": {key: "up", f"-{key}": "down"}.get(current_order, ""),
        }
        for key, label in SORTABLE_COLUMNS
    ]
    context = {"filter": account_filter, "page_obj": page, "columns": columns, "can_create": user_sells(request.user)}
    return render(request, "handoffs/accounts/list.html", context)


@role_required(Role.REP, Role.MANAGER)
def account_create_view(request: HttpRequest) -> HttpResponse:
    form = AccountForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            account = account_create(actor=request.user, owner=form.cleaned_data.get("owner"), **form.service_values())
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Account “{account}” created. Add its contacts next.")
            return redirect("handoffs:account_detail", pk=account.pk)
    return render(request, "handoffs/accounts/form.html", {"form": form, "account": None})


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_for_detail(request.user, pk)
    context = {
        "account": account,
        "can_edit": account_editable_by(request.user, account),
        "can_open_deal": user_sells(request.user),
        "timeline": account_timeline(request.user, account, before=timeline_cursor(request.GET.get("timeline_before"))),
        "promise_ledger": account_promise_ledger(request.user, account),
    }
    return render(request, "handoffs/accounts/detail.html", context)


@login_required
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(accounts_visible_to(request.user).select_related("owner"), pk=pk)
    _editable_or_403(request.user, account)
    form = AccountForm(request.POST or None, instance=account, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            account_update(
                actor=request.user,
                account=account,
                expected_version=form.cleaned_data["version"],
                owner=form.cleaned_data.get("owner"),
                owner_change_reason=form.cleaned_data.get("owner_change_reason", ""),
                **form.service_values(),
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Account saved.")
            return redirect("handoffs:account_detail", pk=account.pk)
    return render(request, "handoffs/accounts/form.html", {"form": form, "account": account})


@login_required
def contact_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(accounts_visible_to(request.user), pk=pk)
    _editable_or_403(request.user, account)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = contact_create(actor=request.user, account=account, **form.service_values())
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Contact {contact} added.")
            if request.POST.get("add_another"):
                return redirect("handoffs:contact_create", pk=account.pk)
            return redirect(f"{account_detail_url(account.pk)}#contacts")
    return render(request, "handoffs/accounts/contact_form.html", {"form": form, "account": account, "contact": None})


@login_required
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(
        Contact.objects.select_related("account").filter(account__in=accounts_visible_to(request.user).values("pk")),
        pk=pk,
    )
    _editable_or_403(request.user, contact.account)
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        try:
            contact_update(actor=request.user, contact=contact, **form.service_values())
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Contact saved.")
            return redirect(f"{account_detail_url(contact.account_id)}#contacts")
    context = {"form": form, "account": contact.account, "contact": contact}
    return render(request, "handoffs/accounts/contact_form.html", context)


def account_detail_url(pk: int) -> str:
    return reverse("handoffs:account_detail", args=[pk])
