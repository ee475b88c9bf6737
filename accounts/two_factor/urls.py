"""Two-factor sign-in, under /me/ in the accounts namespace (accounts.urls includes it)."""

from django.urls import path

from accounts.two_factor import views

urlpatterns = [
    path("two-factor/", views.two_factor_manage, name="two_factor"),
    path("two-factor/setup/start/", views.two_factor_start, name="two_factor_start"),
    path("two-factor/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("two-factor/backup-codes/", views.two_factor_backup_codes, name="two_factor_backup_codes"),
    path("two-factor/disable/", views.two_factor_disable_view, name="two_factor_disable"),
    path("two-factor/verify/", views.two_factor_verify_view, name="two_factor_verify"),
    path("two-factor/reset/<int:user_id>/", views.two_factor_reset_view, name="two_factor_reset"),
]
