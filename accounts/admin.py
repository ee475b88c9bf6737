from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import (
    Account,
    ApiToken,
    Contact,
    OrganisationSettings,
    OwnershipChange,
    Team,
    TimelineEvent,
    User,
)
from accounts.services_api import api_token_revoke


@admin.register(User)
class BatonUserAdmin(UserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "role", "team", "is_active"]
    list_filter = ["role", "team", "is_active"]
    fieldsets = (
        *UserAdmin.fieldsets,
        (
            "Baton",
            {"fields": ["role", "team", "timezone", "working_hours_start", "working_hours_end", "wants_daily_digest"]},
        ),
    )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "manager"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "team", "health_score"]
    search_fields = ["name", "domain"]
    list_select_related = ["owner", "team"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "account", "email"]
    search_fields = ["first_name", "last_name", "email"]
    list_select_related = ["account"]


@admin.register(OwnershipChange)
class OwnershipChangeAdmin(admin.ModelAdmin):
    list_display = ["account", "from_user", "to_user", "changed_by", "created_at"]

    # The history of ownership is append-only.
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register(OrganisationSettings)
admin.site.register(TimelineEvent)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Admins see every personal API token (never a secret: only its prefix) and revoke
    them, e.g. when someone leaves; tokens are created by their owner on the profile page."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at", "revoked_by"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset) -> None:
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(actor=request.user, token=token)
        self.message_user(request, "Tokens revoked.")
