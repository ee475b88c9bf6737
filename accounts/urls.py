from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("settings/", views.org_settings, name="org_settings"),
    path("ping/", views.ping, name="ping"),
    path("api-tokens/", views.api_token_create_view, name="api_token_create"),
    path("api-tokens/<int:pk>/revoke/", views.api_token_revoke_view, name="api_token_revoke"),
]
