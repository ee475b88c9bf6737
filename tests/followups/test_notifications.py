"""The notification centre (bell, list, mark read, e-mail choices), the admin outbox
view and /health/: what users see, with query counts that do not grow with the rows."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from followups.choices import MessageStatus, NotificationKind, ReminderKind
from followups.models import Heartbeat, Notification, NotificationPreference, OutboxMessage

pytestmark = pytest.mark.django_db


def make_notifications(user, count: int, *, read: bool = False) -> list[Notification]:
    return Notification.objects.bulk_create(
        [
            Notification(
                user=user,
                kind=ReminderKind.STEP_OVERDUE,
                title=f"Hand-off step {n} is overdue",
                read_at=timezone.now() if read else None,
            )
            for n in range(count)
        ]
    )


def make_reminders(user, count: int, *, status=MessageStatus.FAILED, first_item: int = 1000) -> list[OutboxMessage]:
    return OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                purpose="reminder",
                recipient_key=f"user:{user.pk}",
                first_due_at=timezone.now(),
                kind=ReminderKind.CHECKIN_OVERDUE,
                item_id=first_item + n,
                recipient=user,
                status=status,
                attempts=6,
                send_after=timezone.now(),
                last_error="SMTPDataError: (451, b'Try again later')",
            )
            for n in range(count)
        ]
    )


def test_it_shows_the_unread_count_of_my_own_notifications_in_the_bell(client_for, rep, other_rep):
    # given
    make_notifications(rep, 3)
    make_notifications(rep, 2, read=True)
    make_notifications(other_rep, 4)
    # when
    response = client_for(rep).get(reverse("followups:bell"))
    # then
    assert response.status_code == 200
    assert 'data-testid="bell-count">3<' in response.content.decode()


def test_it_polls_the_bell_from_every_page(client_for, rep):
    # when
    response = client_for(rep).get(reverse("followups:notifications"))
    # then
    html = response.content.decode()
    assert 'hx-get="/notifications/bell/"' in html
    assert "every 30s" in html


@pytest.mark.parametrize("rows", [3, 30])
def test_it_lists_notifications_with_a_constant_number_of_queries(client_for, rep, rows, django_assert_max_num_queries):
    # given
    make_notifications(rep, rows)
    client = client_for(rep)
    # when
    with django_assert_max_num_queries(8):
        response = client.get(reverse("followups:notifications"))
    # then
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="notification"') == min(rows, 25)


def test_it_marks_one_notification_read_with_htmx_and_refreshes_the_bell(client_for, rep):
    # given
    first, second = make_notifications(rep, 2)
    # when
    response = client_for(rep).post(reverse("followups:notification_read", args=[first.pk]), HTTP_HX_REQUEST="true")
    # then
    assert response.status_code == 200
    assert response["HX-Trigger"] == "notificationsChanged"
    assert "Mark read" not in response.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None


def test_it_answers_404_for_someone_elses_notification(client_for, rep, other_rep):
    # given
    [theirs] = make_notifications(other_rep, 1)
    # when
    response = client_for(rep).post(reverse("followups:notification_read", args=[theirs.pk]))
    # then
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_it_marks_all_my_notifications_read(client_for, rep, other_rep):
    # given
    make_notifications(rep, 3)
    make_notifications(other_rep, 1)
    # when
    response = client_for(rep).post(reverse("followups:notification_read_all"), HTTP_HX_REQUEST="true")
    # then
    assert response.status_code == 200
    assert "All caught up" in response.content.decode()
    assert not Notification.objects.filter(user=rep, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=other_rep, read_at__isnull=True).count() == 1


def test_it_switches_email_off_for_one_kind_from_the_profile(client_for, rep):
    # given: every kind but the check-in issues stays ticked
    kept = [kind for kind in NotificationKind.values if kind != NotificationKind.CHECKIN_ISSUE]
    client = client_for(rep)
    assert 'hx-get="/notifications/preferences/"' in client.get(reverse("accounts:profile")).content.decode()
    # when
    response = client.post(reverse("followups:notification_preferences"), {"email": kept}, HTTP_HX_REQUEST="true")
    # then
    assert response.status_code == 200
    assert "Saved" in response.content.decode()
    assert list(NotificationPreference.objects.filter(user=rep, email=False).values_list("kind", flat=True)) == [
        NotificationKind.CHECKIN_ISSUE
    ]
    html = client.get(reverse("followups:notification_preferences")).content.decode()
    assert 'value="checkin_issue" id="email-checkin_issue">' in html
    assert 'value="step_overdue" id="email-step_overdue" checked>' in html


def test_it_keeps_the_reminder_admin_view_for_admins(client_for, rep, manager):
    # when / then
    assert client_for(rep).get(reverse("followups:outbox_admin")).status_code == 403
    assert client_for(manager).get(reverse("followups:outbox_admin")).status_code == 403


@pytest.mark.parametrize("rows", [3, 30])
def test_it_shows_failed_reminders_with_error_attempts_and_retry(
    client_for, admin_user, rep, rows, django_assert_max_num_queries
):
    # given
    make_reminders(rep, rows)
    make_reminders(rep, 2, status=MessageStatus.SENT, first_item=5000)
    client = client_for(admin_user)
    # when: the same at 3 and 30 rows (each tab's count is its own capped query, issue 17)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("followups:outbox_admin") + "?status=failed")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count(">Retry</button>") == rows
    assert "Try again later" in html
    assert f'Failed <span class="badge text-bg-danger">{rows}</span>' in html


def test_it_puts_a_failed_reminder_back_in_the_outbox_when_an_admin_retries(client_for, admin_user, rep):
    # given
    [reminder] = make_reminders(rep, 1)
    # when
    response = client_for(admin_user).post(reverse("followups:outbox_retry", args=[reminder.pk]), follow=True)
    # then
    reminder.refresh_from_db()
    assert reminder.status == MessageStatus.PENDING and reminder.attempts == 0
    assert "back in the outbox" in response.content.decode()


def _outbox_row(rep, *, item_id: int, first_due_at, send_after=None, attempts=0) -> OutboxMessage:
    return OutboxMessage.objects.create(
        purpose="reminder",
        kind=ReminderKind.STEP_OVERDUE,
        item_id=item_id,
        version=1,
        recipient=rep,
        recipient_key=f"user:{rep.pk}",
        first_due_at=first_due_at,
        send_after=send_after or first_due_at,
        attempts=attempts,
    )


def test_it_reports_the_backlog_and_the_oldest_unsent_message_since_it_first_became_due(client_for, admin_user, rep):
    # given: one message due five minutes ago, one retrying since an hour (its backoff moved
    # send_after into the future), one waiting for working hours
    now = timezone.now()
    Heartbeat.objects.create(name="reminder_scan", last_seen_at=now - datetime.timedelta(seconds=30))
    _outbox_row(rep, item_id=1, first_due_at=now - datetime.timedelta(minutes=5))
    _outbox_row(
        rep,
        item_id=2,
        first_due_at=now - datetime.timedelta(hours=1),
        send_after=now + datetime.timedelta(minutes=8),
        attempts=3,
    )
    _outbox_row(rep, item_id=3, first_due_at=now + datetime.timedelta(hours=5))
    # when
    body = client_for(admin_user).get(reverse("health")).json()
    # then
    assert body["status"] == "ok"
    assert body["outbox_due_unsent"] == 2
    assert body["outbox_retrying"] == 1
    assert body["outbox_failed"] == 0
    assert 3595 <= body["oldest_unsent_message_age_seconds"] <= 3610
    assert 25 <= body["last_reminder_scan_age_seconds"] <= 40


def test_it_tells_the_public_only_whether_baton_is_up(client, rep):
    # given
    _outbox_row(rep, item_id=1, first_due_at=timezone.now())
    # when
    response = client.get(reverse("health"))
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_it_gives_the_figures_to_monitoring_with_the_token(client, settings):
    # given
    settings.BATON_HEALTH_TOKEN = "monitoring-secret"
    # when
    with_token = client.get(reverse("health"), headers={"Authorization": "Bearer monitoring-secret"}).json()
    wrong_token = client.get(reverse("health"), headers={"Authorization": "Bearer guess"}).json()
    # then
    assert "outbox_due_unsent" in with_token
    assert "outbox_due_unsent" not in wrong_token


def test_it_answers_json_503_when_the_database_is_down(client, monkeypatch):
    # given: every query fails as it does while PostgreSQL restarts
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    def refuse(*args, **kwargs):
        raise OperationalError("the database system is shutting down")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    # when
    response = client.get(reverse("health"))
    # then
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "error"
