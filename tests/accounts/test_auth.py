"""Logging in and out, passwords, and who may open which page."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import OrganisationSettings
from accounts.security.throttle import throttles_reset
from followups.services.outbox import outbox_deliver_due
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_a_wrong_login_says_so_without_saying_which_part_was_wrong(client, rep):
    # when
    wrong_password = client.post(reverse("login"), {"username": rep.username, "password": "nope"})
    wrong_username = client.post(reverse("login"), {"username": "nobody", "password": TEST_PASSWORD})
    # then
    for response in (wrong_password, wrong_username):
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
    assert wrong_password.content.decode().count("correct username and password") == 1


def test_a_user_logs_in_and_lands_on_their_home_page(client, rep):
    response = client.post(reverse("login"), {"username": rep.username, "password": TEST_PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.context["user"] == rep


def test_pages_need_a_login(client):
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_sends_a_password_reset_email_rendered_from_templates(client, rep):
    # given: the reset limit's counters (in Redis) left by earlier tests forgotten
    throttles_reset()
    # when
    response = client.post(reverse("password_reset"), {"email": rep.email})
    outbox_deliver_due()  # issue 15: the reset e-mail goes through the outbox
    # then
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Choose a new Baton password"
    assert "/password/reset/" in message.body
    assert message.alternatives[0][1] == "text/html"


def test_a_user_changes_their_password(client_for, rep):
    client = client_for(rep)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "a-much-better-one-42",
            "new_password2": "a-much-better-one-42",
        },
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.check_password("a-much-better-one-42")


def test_a_user_sets_their_time_zone_and_working_hours(client_for, rep):
    client = client_for(rep)
    response = client.post(
        reverse("accounts:profile"),
        {
            "first_name": "Rita",
            "last_name": "Novak",
            "email": rep.email,
            "timezone": "America/New_York",
            "working_hours_start": 8,
            "working_hours_end": 16,
        },
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert (rep.timezone, rep.working_hours_start, rep.working_hours_end) == ("America/New_York", 8, 16)


def test_reversed_working_hours_are_refused_and_what_was_typed_is_kept(client_for, rep):
    client = client_for(rep)
    response = client.post(
        reverse("accounts:profile"),
        {
            "first_name": "Typed name",
            "email": rep.email,
            "timezone": "UTC",
            "working_hours_start": 18,
            "working_hours_end": 9,
        },
    )
    assert response.status_code == 200
    assert "Working hours must end after they start." in response.content.decode()
    assert 'value="Typed name"' in response.content.decode()
    rep.refresh_from_db()
    assert rep.working_hours_start == 9


@pytest.mark.parametrize("role_fixture", ["rep", "delivery_lead", "manager"])
def test_only_admins_may_open_the_organisation_settings(request, client_for, role_fixture):
    user = request.getfixturevalue(role_fixture)
    response = client_for(user).get(reverse("accounts:org_settings"))
    assert response.status_code == 403


def test_an_admin_changes_the_thresholds_and_bad_cadence_is_refused(client_for, admin_user):
    client = client_for(admin_user)
    form = {
        "acceptance_within_days": 2,
        "meeting_schedule_within_days": 3,
        "meeting_within_days": 10,
        "default_checkin_cadence": "7, 30, ninety",
        "checkin_grace_days": 3,
        "ghosted_after_days": 45,
        "single_threaded_stages": ["negotiate"],
        "escalate_after_hours": 24,
        "escalate_to_admin_after_hours": 0,
        "gate_requires_context": "on",
        "gate_min_contacts": 2,
        "gate_requires_promises": "on",
    }
    refused = client.post(reverse("accounts:org_settings"), form)
    assert refused.status_code == 200
    assert "Write whole numbers of days" in refused.content.decode()

    saved = client.post(reverse("accounts:org_settings"), {**form, "default_checkin_cadence": "90, 7, 30"})
    assert saved.status_code == 302
    settings_row = OrganisationSettings.load()
    assert settings_row.default_checkin_cadence == [7, 30, 90]
    assert settings_row.acceptance_within_days == 2


def test_health_reports_the_database_and_the_last_heartbeat(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
