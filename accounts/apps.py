from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class BatonAdminConfig(admin_apps.AdminConfig):
    """Django's admin, whose default site is for superusers signed in with two-factor only
    (accounts.two_factor.admin_site.BatonAdminSite); listed in INSTALLED_APPS in place of
    django.contrib.admin, so every ModelAdmin and "admin:" URL name stay as they are."""

    default = False  # named in INSTALLED_APPS; "accounts" itself is AccountsConfig
    default_site = "accounts.two_factor.admin_site.BatonAdminSite"


class AccountsConfig(AppConfig):
    default = True
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self) -> None:
        # Sign-in receivers (the session's clocks, the two-factor state): issue 15.
        from accounts import receivers  # noqa: F401
