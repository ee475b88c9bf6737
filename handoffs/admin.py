"""Django admin for the hand-off models (support staff; the app's own pages are the way in)."""

from django.contrib import admin

from handoffs.models import Handoff, HandoffStep, Meeting, MeetingAttendee, Playbook, PlaybookStep


class PlaybookStepInline(admin.TabularInline):
    model = PlaybookStep
    extra = 0


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ["name", "segment", "is_default", "is_active", "updated_at"]
    inlines = [PlaybookStepInline]


class HandoffStepInline(admin.TabularInline):
    model = HandoffStep
    extra = 0
    readonly_fields = ["done_by", "done_at"]


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    """Read-mostly: status changes go through the services, never through this form."""

    list_display = ["deal", "status", "rep", "proposed_owner", "delivery_owner", "closed_on"]
    list_filter = ["status"]
    search_fields = ["deal__title", "deal__account__name"]
    list_select_related = ["deal", "rep", "proposed_owner", "delivery_owner"]
    raw_id_fields = ["deal", "rep", "proposed_owner", "proposed_by", "delivery_owner", "declined_by", "team"]
    readonly_fields = ["status", "accepted_at", "declined_at", "meeting_held_at", "completed_at"]
    inlines = [HandoffStepInline]


class MeetingAttendeeInline(admin.TabularInline):
    model = MeetingAttendee
    extra = 0
    raw_id_fields = ["user", "contact"]


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = ["handoff", "starts_at", "status", "sequence"]
    list_filter = ["status"]
    raw_id_fields = ["handoff", "organizer", "recorded_by"]
    readonly_fields = ["uid", "sequence", "status"]
    inlines = [MeetingAttendeeInline]
