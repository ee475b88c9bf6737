"""URLs of the followups app. Each area lists its routes in its own block."""

from django.urls import path  # noqa: F401 — used by the blocks below as they are filled

app_name = "followups"

# Check-ins and the calendar feed.
checkin_urlpatterns: list = []

# Reminders, notifications, the reminder admin view.
reminder_urlpatterns: list = []

# The dropped-baton report and the manager dashboard.
report_urlpatterns: list = []

urlpatterns = checkin_urlpatterns + reminder_urlpatterns + report_urlpatterns
