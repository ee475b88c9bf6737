"""URLs of the followups app. Each area lists its routes in its own block."""

from django.urls import path

from followups.views import calendar_feed as calendar_feed_views
from followups.views import checkins as checkin_views
from followups.views import dashboard as dashboard_views
from followups.views import notifications as notification_views
from followups.views import open_work as open_work_views
from followups.views import outbox as outbox_views
from followups.views import personal_data as personal_data_views
from followups.views import pulse as pulse_views
from followups.views import report as report_views
from followups.views import webhooks as webhook_views

app_name = "followups"

# Check-ins and the calendar feed.
checkin_urlpatterns: list = [
    path("checkins/", checkin_views.my_checkins, name="my_checkins"),
    path("checkins/export/", checkin_views.checkin_export, name="checkin_export"),
    path("checkins/<int:pk>/log/", checkin_views.checkin_log_view, name="checkin_log"),
    path("checkins/<int:pk>/reschedule/", checkin_views.checkin_reschedule_view, name="checkin_reschedule"),
    path("handoffs/<int:handoff_pk>/checkins/add/", checkin_views.checkin_add_view, name="checkin_add"),
    path("calendar/<str:token>.ics", calendar_feed_views.calendar_feed, name="calendar_feed"),
    path("me/calendar/rotate/", calendar_feed_views.calendar_feed_rotate, name="calendar_feed_rotate"),
]

# Reminders, notifications, the reminder admin view.
reminder_urlpatterns: list = [
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/bell/", notification_views.bell, name="bell"),
    path("notifications/read-all/", notification_views.notification_read_all, name="notification_read_all"),
    path("notifications/<int:pk>/read/", notification_views.notification_read, name="notification_read"),
    path("notifications/preferences/", notification_views.notification_preferences, name="notification_preferences"),
    path("outbox/", outbox_views.outbox_admin, name="outbox_admin"),
    path("outbox/export/", outbox_views.outbox_export, name="outbox_export"),
    path("outbox/<int:pk>/retry/", outbox_views.outbox_retry_view, name="outbox_retry"),
    path("outbox/retry-failed/", outbox_views.outbox_retry_failed_view, name="outbox_retry_failed"),
]

# The dropped-baton report and the manager dashboard.
report_urlpatterns: list = [
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("report/", report_views.report, name="report"),
    path("report/drops/<str:code>/", report_views.report_drilldown, name="report_drilldown"),
    path("report/recompute/", report_views.report_recompute, name="report_recompute"),
]

# The customer pulse: public pages behind a signed link (no login).
pulse_urlpatterns: list = [
    path("pulse/<str:token>/", pulse_views.pulse_page, name="pulse_page"),
    path("pulse/<str:token>/comment/", pulse_views.pulse_comment_view, name="pulse_comment"),
    path("pulse/<str:token>/opt-out/", pulse_views.pulse_opt_out_view, name="pulse_opt_out"),
    path("pulse/<str:token>/<slug:answer>/", pulse_views.pulse_answer_view, name="pulse_answer"),
]

# Webhooks and chat alerts (admins): endpoints and their delivery logs.
webhook_urlpatterns: list = [
    path("webhooks/", webhook_views.webhook_list, name="webhook_list"),
    path("webhooks/new/", webhook_views.webhook_create, name="webhook_create"),
    path("webhooks/<int:pk>/", webhook_views.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/edit/", webhook_views.webhook_edit, name="webhook_edit"),
    path("webhooks/<int:pk>/active/", webhook_views.webhook_set_active_view, name="webhook_set_active"),
    path("webhooks/<int:pk>/rotate-secret/", webhook_views.webhook_rotate_secret_view, name="webhook_rotate_secret"),
    path("webhooks/<int:pk>/test/", webhook_views.webhook_send_test_view, name="webhook_send_test"),
    path("webhooks/deliveries/<int:pk>/replay/", webhook_views.webhook_replay_view, name="webhook_replay"),
]

# A contact's personal data (admins): the page, the JSON export, the erasure (issue 15).
personal_data_urlpatterns: list = [
    path(
        "contacts/<int:contact_id>/personal-data/",
        personal_data_views.contact_personal_data_page,
        name="contact_personal_data",
    ),
    path(
        "contacts/<int:contact_id>/personal-data/export.json",
        personal_data_views.contact_personal_data_export_view,
        name="contact_personal_data_export",
    ),
    path(
        "contacts/<int:contact_id>/personal-data/erase/",
        personal_data_views.contact_erase_view,
        name="contact_erase",
    ),
]

# A person's open work (a deactivated user's), for their manager or an admin to reassign.
open_work_urlpatterns: list = [
    path("people/<int:user_id>/open-work/", open_work_views.open_work, name="open_work"),
]

urlpatterns = (
    checkin_urlpatterns
    + reminder_urlpatterns
    + report_urlpatterns
    + pulse_urlpatterns
    + webhook_urlpatterns
    + open_work_urlpatterns
)
urlpatterns += personal_data_urlpatterns
