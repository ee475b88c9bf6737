from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import Account, Contact, OrganisationSettings, OwnershipChange, Team, TimelineEvent, User


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
