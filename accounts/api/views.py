"""API endpoints of the accounts app: the caller (`/me/`), customer accounts and contacts.

Who may *read* an account depends on its deals and hand-offs, a rule of the handoffs app
(handoffs.access.accounts_visible_to) that this bottom layer cannot import. So the
account and contact views take that rule as `visible_accounts`, bound where the apps are
wired together (config/urls.py, through accounts.api.urls.account_urlpatterns), exactly
as the account pages use it: an account outside it is a 404, one inside it that the user
may not change a 403 (the services check accounts.access themselves). Writes go through
accounts.services; nothing here decides who may do what.
"""

from __future__ import annotations

from collections.abc import Callable

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import ErrorSerializer
from accounts.api.serializers_accounts import (
    AccountCreateSerializer,
    AccountSerializer,
    AccountUpdateSerializer,
    ContactCreateSerializer,
    ContactSerializer,
    ContactUpdateSerializer,
    MeSerializer,
)
from accounts.common.http import MAX_ID
from accounts.models import Account, Contact, User
from accounts.services import account_create, account_update, contact_create, contact_update

VisibleAccounts = Callable[[User], QuerySet[Account]]


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """A row id in the query string: a whole number that fits a bigint (else 400)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class AccountFilter(django_filters.FilterSet):
    """Filters of the account list: owner, team, and a search in name and domain."""

    owner = IdFilter(field_name="owner_id", help_text="Accounts owned by this user id.")
    team = IdFilter(field_name="team_id", help_text="Accounts of this team id.")
    search = django_filters.CharFilter(method="filter_search", max_length=200, help_text="Part of the name or domain.")

    class Meta:
        model = Account
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(domain__icontains=value))


class ContactFilter(django_filters.FilterSet):
    """Filters of the contact list: account, email, and a search in the name."""

    account = IdFilter(field_name="account_id", help_text="Contacts of this account id.")
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact", max_length=254)
    search = django_filters.CharFilter(method="filter_search", max_length=200, help_text="Part of the name.")

    class Meta:
        model = Contact
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(first_name__icontains=value) | Q(last_name__icontains=value))


class MeView(generics.GenericAPIView):
    """The user the token belongs to."""

    serializer_class = MeSerializer
    pagination_class = None

    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


class VisibleAccountsMixin:
    """Views that need the handoffs app's "who may read an account" rule, bound in
    config/urls.py (see the module docstring)."""

    visible_accounts: VisibleAccounts | None = None

    def readable_accounts(self) -> QuerySet[Account]:
        if self.visible_accounts is None:  # an unbound view would show everything: refuse to run
            raise RuntimeError("Bind visible_accounts (accounts.api.urls.account_urlpatterns).")
        return self.visible_accounts(self.request.user)  # type: ignore[attr-defined]

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()  # type: ignore[misc]
        context["visible_accounts"] = self.readable_accounts
        return context

    def get_object(self):
        queryset = self.filter_queryset(self.get_queryset())  # type: ignore[attr-defined]
        return get_object_or_404(queryset, pk=self.kwargs["pk"])  # type: ignore[attr-defined]


@extend_schema_view(
    list=extend_schema(summary="List the accounts you may read"),
    retrieve=extend_schema(summary="Read an account"),
    create=extend_schema(
        summary="Create an account", request=AccountCreateSerializer, responses={201: AccountSerializer}
    ),
    partial_update=extend_schema(
        summary="Change an account",
        description="Send the `version` you read: if someone saved the account since, the change is refused "
        "(409 `conflict`) instead of overwriting theirs.",
        request=AccountUpdateSerializer,
        responses={
            200: AccountSerializer,
            409: OpenApiResponse(ErrorSerializer, description="`conflict`: the account changed since your `version`."),
        },
    ),
)
class AccountViewSet(
    VisibleAccountsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Customer accounts (through accounts.services for every change)."""

    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    queryset = Account.objects.none()  # for the schema; get_queryset is the real one

    def get_queryset(self) -> QuerySet[Account]:
        return self.readable_accounts().select_related("owner", "team")

    def create(self, request: Request) -> Response:
        body = AccountCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        account = account_create(actor=request.user, **body.validated_data)
        account = self.get_queryset().get(pk=account.pk)
        return Response(AccountSerializer(account).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: int) -> Response:
        account = self.get_object()
        body = AccountUpdateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        values = dict(body.validated_data)
        account_update(actor=request.user, account=account, expected_version=values.pop("version"), **values)
        return Response(AccountSerializer(self.get_queryset().get(pk=account.pk)).data)


@extend_schema_view(
    list=extend_schema(summary="List the contacts of the accounts you may read"),
    retrieve=extend_schema(summary="Read a contact"),
    create=extend_schema(
        summary="Add a contact to an account", request=ContactCreateSerializer, responses={201: ContactSerializer}
    ),
    partial_update=extend_schema(
        summary="Change a contact", request=ContactUpdateSerializer, responses={200: ContactSerializer}
    ),
)
class ContactViewSet(
    VisibleAccountsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Customer contacts, of the accounts the user may read."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    queryset = Contact.objects.none()

    def get_queryset(self) -> QuerySet[Contact]:
        return Contact.objects.filter(account__in=self.readable_accounts().order_by().values("pk"))

    def create(self, request: Request) -> Response:
        body = ContactCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        contact = contact_create(actor=request.user, **body.validated_data)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: int) -> Response:
        contact = get_object_or_404(self.get_queryset().select_related("account"), pk=pk)
        body = ContactUpdateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        contact = contact_update(actor=request.user, contact=contact, **body.validated_data)
        return Response(ContactSerializer(contact).data)
