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
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.access import account_editable_by, role_required, user_sells
from accounts.choices import Role
from accounts.common.exports import export_format_of, export_response, list_filters
from accounts.common.forms import add_service_error, select_options
from accounts.common.links import url_for_each
from accounts.common.pagination import CappedPaginator
from accounts.common.timeline import timeline_cursor
from accounts.forms import AccountForm, ContactForm
from accounts.models import Account, Contact
from accounts.services import account_create, account_update, contact_create, contact_update
from handoffs.access import accounts_visible_to
from handoffs.exports import ACCOUNT_COLUMNS, CONTACT_COLUMNS
from handoffs.filters import AccountFilter
from handoffs.selectors.accounts import (
    account_for_detail,
    account_list_page,
    account_list_queryset,
    account_timeline,
)
from handoffs.selectors.promises import account_promise_ledger

PAGE_SIZE = 25
SORTABLE_COLUMNS = [("name", "Account"), ("owner", "Owner"), ("open_deals", "Open deals"), ("health", "Health")]


def _editable_or_403(user, account) -> None:
    if not account_editable_by(user, account):
        raise PermissionDenied("You may read this account but not change it.")


def _filtered_accounts(request: HttpRequest, data: QueryDict) -> tuple[AccountFilter, QuerySet[Account]]:
    """The account list's rows: its selector, its filters from `data`, its default order.
    The page and its exports both read them here."""
    accounts = account_list_queryset(request.user)
    account_filter = AccountFilter(data or None, queryset=accounts, accounts=accounts)
    rows = account_filter.qs if account_filter.is_bound else accounts
    # The chosen order (by name when none), then by id: the same order on every page.
    return account_filter, rows.order_by(*(rows.query.order_by or ["name"]), "pk")


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    account_filter, rows = _filtered_accounts(request, request.GET)
    # An admin sees every account (20k at 100k deals): the count stops at 10,000.
    page = CappedPaginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = account_list_page(rows, page.object_list.values("pk"))
    # Each row's link: reversed once for the page, not per row.
    detail_url = url_for_each("handoffs:account_detail")
    for account in page.object_list:
        account.detail_url = detail_url(account.pk)
    form = account_filter.form
    # The owner menu's ~200 people as values, named as User.__str__ names them.
    owners = [
        (pk, f"{first_name} {last_name}".strip() or username)
        for pk, first_name, last_name, username in account_filter.filters["owner"].queryset.values_list(
            "pk", "first_name", "last_name", "username"
        )
    ]
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
        "filter": account_filter,
        "page_obj": page,
        "columns": columns,
        "size_options": select_options(form["size"], form.fields["size"].choices),
        "owner_options": select_options(form["owner"], [("", form.fields["owner"].empty_label), *owners]),
        "can_create": user_sells(request.user),
    }
    return render(request, "handoffs/accounts/list.html", context)


@login_required
@require_GET
def account_export(request: HttpRequest) -> HttpResponse:
    """Every row of the account list as filtered (`?format=csv|xlsx` + the list's query)."""
    export_format = export_format_of(request)
    _, accounts = _filtered_accounts(request, list_filters(request))
    return export_response(accounts, columns=ACCOUNT_COLUMNS, export_format=export_format, name="accounts")


@login_required
@require_GET
def contact_export(request: HttpRequest) -> HttpResponse:
    """The contacts of the accounts the account list shows as filtered (there is no
    contact list page: whoever may read an account reads all its contacts, as on the
    account page), by account, then name."""
    export_format = export_format_of(request)
    _, accounts = _filtered_accounts(request, list_filters(request))
    contacts = Contact.objects.filter(account__in=accounts.order_by().values("pk")).order_by(
        "account__name", "account_id", "last_name", "first_name", "pk"
    )
    return export_response(contacts, columns=CONTACT_COLUMNS, export_format=export_format, name="contacts")


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
    account = get_object_or_404(accounts_visible_to(request.user, pk=pk).select_related("owner"))
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
    account = get_object_or_404(accounts_visible_to(request.user, pk=pk))
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
