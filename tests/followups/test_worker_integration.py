"""A task goes through the real Redis broker to a real Celery worker and back to the database."""

import time

import pytest
from django.conf import settings

from followups.models import Heartbeat
from followups.tasks import record_heartbeat

pytestmark = pytest.mark.integration


def test_a_task_round_trips_through_redis_to_a_real_worker(celery_worker_real):
    # given
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    # when
    record_heartbeat.delay("integration-test")
    # then
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not Heartbeat.objects.filter(name="integration-test").exists():
        time.sleep(0.1)
    assert Heartbeat.objects.filter(name="integration-test").exists()
