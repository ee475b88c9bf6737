from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.api.urls import account_urlpatterns
from accounts.security.views import password_reset
from accounts.views import favicon
from followups.views import core as followups_views
from handoffs.access import accounts_visible_to

urlpatterns = [
    path("", followups_views.home, name="home"),
    path("health/", followups_views.health, name="health"),
    path("favicon.ico", favicon, name="favicon"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(extra_context={"title": "Change your password"}),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(extra_context={"title": "Password changed"}),
        name="password_change_done",
    ),
    path("password/reset/", password_reset, name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(extra_context={"title": "Check your email"}),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(extra_context={"title": "Choose a new password"}),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(extra_context={"title": "Password set"}),
        name="password_reset_complete",
    ),
    path("api/v1/", include("accounts.api.urls")),
    # Accounts and contacts are read through handoffs' rule (an account is visible by its
    # deals and hand-offs), which the accounts app cannot import: bound here.
    path("api/v1/", include(account_urlpatterns(visible_accounts=accounts_visible_to))),
    path("api/v1/", include("handoffs.api.urls")),
    path("api/v1/", include("followups.api.urls")),
    path("me/", include("accounts.urls")),
    # People, teams and the audit log (admins): /people/, /teams/, /audit/.
    path("", include("accounts.people.urls")),
    path("", include("handoffs.urls")),
    path("", include("followups.urls")),
    # The Django admin: for superusers signed in with two-factor only (admin.site is a
    # BatonAdminSite: accounts.apps.BatonAdminConfig).
    path(settings.BATON_ADMIN_PATH, admin.site.urls),
]
