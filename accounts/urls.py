from django.urls import include, path

from accounts import views
from accounts.people.views import InviteAcceptView

app_name = "accounts"
urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("settings/", views.org_settings, name="org_settings"),
    path("ping/", views.ping, name="ping"),
    path("api-tokens/", views.api_token_create_view, name="api_token_create"),
    path("api-tokens/<int:pk>/revoke/", views.api_token_revoke_view, name="api_token_revoke"),
    # Two-factor sign-in (accounts.two_factor): its names are in this namespace too.
    path("", include("accounts.two_factor.urls")),
    # The invitation e-mail's link (accounts.people): the invited person sets a password.
    path("welcome/<uidb64>/<token>/", InviteAcceptView.as_view(), name="invite_accept"),
]
