"""The one rule for typed dates: ten years back to five years ahead of the user's today."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.validators import user_today, validate_plausible_date, validate_plausible_datetime
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# 20:00 UTC on 5 March: already 6 March in Kiritimati (UTC+14).
NOW = datetime.datetime(2026, 3, 5, 20, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def test_the_window_runs_from_ten_years_back_to_five_years_ahead_both_included():
    # given
    today = datetime.date(2026, 3, 5)
    # when / then
    validate_plausible_date(datetime.date(2016, 3, 5), today=today)
    validate_plausible_date(datetime.date(2031, 3, 5), today=today)
    for implausible in (datetime.date(2016, 3, 4), datetime.date(2031, 3, 6), datetime.date(9999, 12, 31)):
        with pytest.raises(ValidationError) as refused:
            validate_plausible_date(implausible, today=today)
        assert refused.value.messages == ["This date is not plausible: choose one between 05 Mar 2016 and 05 Mar 2031."]


def test_the_window_is_seen_from_the_users_own_today():
    # given: on the same instant, one user is still on 5 March and the other on 6 March
    london = UserFactory(timezone="Europe/London")
    kiritimati = UserFactory(timezone="Pacific/Kiritimati")
    last_day_for_kiritimati = datetime.date(2031, 3, 6)
    # when / then
    assert user_today(kiritimati) == datetime.date(2026, 3, 6)
    validate_plausible_date(last_day_for_kiritimati, today=user_today(kiritimati))
    with pytest.raises(ValidationError):
        validate_plausible_date(last_day_for_kiritimati, today=user_today(london))


def test_a_refusal_names_the_field_when_asked_to():
    with pytest.raises(ValidationError) as refused:
        validate_plausible_date(datetime.date(1, 1, 1), field="closed_on", today=datetime.date(2026, 3, 5))
    assert list(refused.value.message_dict) == ["closed_on"]


def test_a_moment_at_the_end_of_the_calendar_is_refused_without_overflowing():
    # given: 9999-12-31 23:30 UTC cannot even be converted to a zone east of UTC
    end_of_time = datetime.datetime(9999, 12, 31, 23, 30, tzinfo=datetime.UTC)
    kiritimati = UserFactory(timezone="Pacific/Kiritimati")
    # when / then
    with pytest.raises(ValidationError):
        validate_plausible_datetime(end_of_time, today=user_today(kiritimati), tz=kiritimati.tzinfo)
    validate_plausible_datetime(NOW + datetime.timedelta(days=3), today=user_today(kiritimati), tz=kiritimati.tzinfo)
