"""The API endpoints of this app, mounted under /api/v1/ by config.urls.

`urlpatterns` needs nothing from the apps above: the caller (`me/`), the OpenAPI schema
and its docs page. The account and contact endpoints need handoffs' "who may read an
account" rule, so config.urls binds it: `account_urlpatterns(visible_accounts=…)`.
"""

from __future__ import annotations

from django.urls import path
from rest_framework.permissions import AllowAny

import accounts.api.converters  # noqa: F401 — registers <api_id:…> for every app's API urls
from accounts.api.docs import api_docs
from accounts.api.schema_view import CachedSpectacularAPIView
from accounts.api.views import AccountViewSet, ContactViewSet, MeView, VisibleAccounts

LIST = {"get": "list", "post": "create"}
DETAIL = {"get": "retrieve", "patch": "partial_update"}

urlpatterns = [
    path("me/", MeView.as_view(), name="api_me"),
    path(
        "schema/",
        CachedSpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny]),
        name="api_schema",
    ),
    path("docs/", api_docs, name="api_docs"),
]


def account_urlpatterns(*, visible_accounts: VisibleAccounts) -> list:
    """The account and contact endpoints, reading through `visible_accounts(user)` —
    handoffs.access.accounts_visible_to, the rule of the account pages."""
    bound = {"visible_accounts": staticmethod(visible_accounts)}
    accounts = type("AccountViewSet", (AccountViewSet,), {**bound, "__doc__": AccountViewSet.__doc__})
    contacts = type("ContactViewSet", (ContactViewSet,), {**bound, "__doc__": ContactViewSet.__doc__})
    return [
        path("accounts/", accounts.as_view(LIST), name="api_account_list"),
        path("accounts/<api_id:pk>/", accounts.as_view(DETAIL), name="api_account_detail"),
        path("contacts/", contacts.as_view(LIST), name="api_contact_list"),
        path("contacts/<api_id:pk>/", contacts.as_view(DETAIL), name="api_contact_detail"),
    ]
