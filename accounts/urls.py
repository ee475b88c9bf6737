from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("settings/", views.org_settings, name="org_settings"),
    path("ping/", views.ping, name="ping"),
]
