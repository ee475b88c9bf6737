"""The API endpoints of this app, mounted under /api/v1/ by config.urls: check-ins,
the outbox (read, admins) and the dropped-baton report (read) (followups.api.views)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

import accounts.api.converters  # noqa: F401 — registers <api_id:…> (ids that fit a bigint)
from followups.api.views import CheckInViewSet, OutboxMessageViewSet, ReportView

app_name = "followups_api"

router = SimpleRouter(use_regex_path=False)
router.register("checkins", CheckInViewSet, basename="checkin")
router.register("outbox", OutboxMessageViewSet, basename="outbox-message")

urlpatterns = [*router.urls, path("report/", ReportView.as_view(), name="report")]
