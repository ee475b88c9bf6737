"""The API endpoints of this app, mounted under /api/v1/ by config.urls: deals,
promises, hand-offs, their steps and meetings (handoffs.api.views)."""

from rest_framework.routers import SimpleRouter

import accounts.api.converters  # noqa: F401 — registers <api_id:…> (ids that fit a bigint)
from handoffs.api.views import DealViewSet, HandoffStepViewSet, HandoffViewSet, MeetingViewSet, PromiseViewSet

app_name = "handoffs_api"

router = SimpleRouter(use_regex_path=False)
router.register("deals", DealViewSet, basename="deal")
router.register("promises", PromiseViewSet, basename="promise")
router.register("handoffs", HandoffViewSet, basename="handoff")
router.register("handoff-steps", HandoffStepViewSet, basename="handoff-step")
router.register("meetings", MeetingViewSet, basename="meeting")

urlpatterns = router.urls
