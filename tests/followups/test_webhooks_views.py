"""The admins' webhook pages: who may open them, the form keeping what was typed, and
each action (create, edit, deactivate, rotate, test event, replay) (issue 13)."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from followups.choices import MessageStatus, WebhookEvent
from followups.models import OutboxMessage, WebhookEndpoint
from followups.services.webhooks import webhook_send_test

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(db):
    return WebhookEndpoint.objects.create(
        name="Ops channel", url="https://hooks.example/ops", format="slack", events=[WebhookEvent.DEAL_WON]
    )


def _pages(hook, delivery):
    return [
        ("get", "/webhooks/"),
        ("get", "/webhooks/new/"),
        ("post", "/webhooks/new/"),
        ("get", f"/webhooks/{hook.pk}/"),
        ("get", f"/webhooks/{hook.pk}/edit/"),
        ("post", f"/webhooks/{hook.pk}/edit/"),
        ("post", f"/webhooks/{hook.pk}/active/"),
        ("post", f"/webhooks/{hook.pk}/rotate-secret/"),
        ("post", f"/webhooks/{hook.pk}/test/"),
        ("post", f"/webhooks/deliveries/{delivery.pk}/replay/"),
    ]


@pytest.mark.parametrize("who", ["rep", "manager", "delivery_lead"])
def test_only_admins_may_open_the_webhook_pages(client_for, request, who, hook, admin_user):
    # given: a delivery that went out
    delivery = webhook_send_test(actor=admin_user, endpoint=hook)
    OutboxMessage.objects.filter(pk=delivery.pk).update(status=MessageStatus.SENT)
    secret = hook.secret
    client = client_for(request.getfixturevalue(who))

    # when / then: every page and action answers 403, and nothing changes
    for method, url in _pages(hook, delivery):
        response = getattr(client, method)(url, {"name": "x", "active": "0"})
        assert response.status_code == 403, (method, url)
    hook.refresh_from_db()
    assert (hook.secret, hook.is_active, hook.name) == (secret, True, "Ops channel")
    assert OutboxMessage.objects.count() == 1


def test_the_navigation_links_the_webhook_pages_for_admins_only(client_for, admin_user, manager):
    assert 'href="/webhooks/"' in client_for(admin_user).get("/webhooks/").content.decode()
    assert 'href="/webhooks/"' not in client_for(manager).get("/report/").content.decode()


@override_settings(BATON_WEBHOOK_ALLOW_HTTP=False, DEBUG=False)
def test_a_refused_endpoint_keeps_what_was_typed(client_for, admin_user):
    client = client_for(admin_user)
    response = client.post(
        "/webhooks/new/",
        {"name": "Our ERP", "url": "http://erp.example/hooks", "format": "generic", "events": ["deal.won"]},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Use an https:// address" in page
    assert 'value="Our ERP"' in page and 'value="http://erp.example/hooks"' in page
    ticked = re.search(r'<input[^>]*value="deal\.won"[^>]*>', page).group(0)
    assert "checked" in ticked
    assert not WebhookEndpoint.objects.exists()


def test_an_admin_registers_an_endpoint_and_sees_its_secret(client_for, admin_user):
    client = client_for(admin_user)
    response = client.post(
        "/webhooks/new/",
        {
            "name": "Our ERP",
            "url": "https://erp.example/hooks",
            "format": "generic",
            "events": ["handoff.accepted", "deal.won"],
            "is_active": "on",
        },
        follow=True,
    )
    hook = WebhookEndpoint.objects.get()
    assert (hook.name, hook.events, hook.is_active, hook.created_by) == (
        "Our ERP",
        ["deal.won", "handoff.accepted"],
        True,
        admin_user,
    )
    assert hook.secret in response.content.decode()


def test_an_admin_edits_deactivates_rotates_and_tests_an_endpoint(client_for, admin_user, hook):
    client = client_for(admin_user)
    old_secret = hook.secret

    client.post(
        f"/webhooks/{hook.pk}/edit/",
        {
            "name": "Ops",
            "url": "https://hooks.example/ops2",
            "format": "teams",
            "events": ["promise.broken"],
            "is_active": "on",
        },
    )
    client.post(f"/webhooks/{hook.pk}/rotate-secret/")
    client.post(f"/webhooks/{hook.pk}/test/")
    hook.refresh_from_db()
    assert (hook.name, hook.url, hook.format, hook.events) == (
        "Ops",
        "https://hooks.example/ops2",
        "teams",
        ["promise.broken"],
    )
    assert hook.secret != old_secret
    test_row = OutboxMessage.objects.get(endpoint=hook)
    assert test_row.kind == "webhook.test" and test_row.requested_by == admin_user

    client.post(f"/webhooks/{hook.pk}/active/", {"active": "0"})
    hook.refresh_from_db()
    test_row.refresh_from_db()
    assert not hook.is_active and test_row.status == MessageStatus.CANCELLED


def test_the_delivery_log_shows_each_delivery_and_replays_it(client_for, admin_user, hook):
    # given: a delivery answered 200 and one that failed with 410
    sent = webhook_send_test(actor=admin_user, endpoint=hook)
    OutboxMessage.objects.filter(pk=sent.pk).update(
        status=MessageStatus.SENT, response_code=200, response_excerpt="ok", attempts=1
    )
    client = client_for(admin_user)

    # when: the admin opens the log and replays the delivery
    page = client.get(f"/webhooks/{hook.pk}/").content.decode()
    assert sent.message_id in page and ">200<" in page and "Replay" in page
    client.post(f"/webhooks/deliveries/{sent.pk}/replay/")

    # then: a new row with the same delivery id, named as a replay in the log
    replay = OutboxMessage.objects.exclude(pk=sent.pk).get()
    assert replay.message_id == sent.message_id and replay.replay_of == sent
    assert "replay by" in client.get(f"/webhooks/{hook.pk}/").content.decode()


def test_the_delivery_log_reads_a_fixed_number_of_queries(client_for, admin_user, hook, django_assert_max_num_queries):
    for _ in range(30):
        webhook_send_test(actor=admin_user, endpoint=hook)
    client = client_for(admin_user)
    with django_assert_max_num_queries(12):
        client.get(f"/webhooks/{hook.pk}/")
