"""Issue 9: a delivery lead's bell rings when a hand-off is proposed to them (the e-mail
is sent separately, so the bell entry must not send a second one)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.choices import Role
from followups.choices import MessagePurpose, NotificationKind
from followups.models import Notification, OutboxMessage
from handoffs.models import Handoff
from handoffs.services.handoffs import handoff_propose_owner
from handoffs.signals import handoff_proposed
from tests.factories import UserFactory
from tests.handoffs.handoff_builders import won_handoff

pytestmark = pytest.mark.django_db


class Recorder:
    """Collects what a signal sends."""

    def __init__(self, signal):
        self.calls: list[dict] = []
        self.signal = signal

    def __call__(self, sender, **kwargs):
        kwargs.pop("signal", None)
        self.calls.append({"sender": sender, **kwargs})

    def __enter__(self):
        self.signal.connect(self, weak=False)
        return self

    def __exit__(self, *exc):
        self.signal.disconnect(self)


def test_it_sends_handoff_proposed_only_once_the_proposal_is_committed(
    rep, manager, delivery_lead, django_capture_on_commit_callbacks
):
    # given
    handoff = won_handoff(rep=rep)
    # when: the transaction has not committed yet
    with Recorder(handoff_proposed) as proposed, django_capture_on_commit_callbacks(execute=False) as callbacks:
        handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    # then
    assert proposed.calls == []
    for callback in callbacks:
        with Recorder(handoff_proposed) as proposed:
            callback()
        if proposed.calls:
            break
    assert proposed.calls == [
        {"sender": Handoff, "handoff_id": handoff.pk, "owner_id": delivery_lead.pk, "actor_id": manager.pk}
    ]


def test_it_rings_the_proposed_owners_bell(client_for, rep, manager, delivery_lead, django_capture_on_commit_callbacks):
    # given
    handoff = won_handoff(rep=rep)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    # then: one entry in the lead's bell, about this hand-off, and in no one else's
    notification = Notification.objects.get()
    assert notification.user == delivery_lead
    assert notification.kind == NotificationKind.HANDOFF
    assert notification.url == reverse("handoffs:handoff_detail", args=[handoff.pk])
    assert str(handoff.deal) in notification.title
    assert str(manager) in notification.body
    bell = client_for(delivery_lead).get(reverse("followups:bell")).content.decode()
    assert 'data-testid="bell-count">1<' in bell


def test_the_bell_entry_queues_no_second_email(rep, manager, delivery_lead, django_capture_on_commit_callbacks):
    # given
    handoff = won_handoff(rep=rep)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    # then: the lead gets one e-mail, the proposal; the bell entry has no e-mail copy
    assert Notification.objects.filter(user=delivery_lead).exists()
    to_lead = OutboxMessage.objects.filter(recipient=delivery_lead)
    assert list(to_lead.values_list("purpose", flat=True)) == [MessagePurpose.HANDOFF_PROPOSED]


def test_proposing_someone_else_rings_their_bell_too(
    rep, manager, delivery_lead, delivery_team, django_capture_on_commit_callbacks
):
    # given: the hand-off was proposed to one lead
    handoff = won_handoff(rep=rep)
    second_lead = UserFactory(role=Role.DELIVERY, team=delivery_team)
    with django_capture_on_commit_callbacks(execute=True):
        handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    # when: the manager proposes another
    with django_capture_on_commit_callbacks(execute=True):
        handoff_propose_owner(actor=manager, handoff=handoff, owner=second_lead)
    # then
    assert sorted(Notification.objects.values_list("user_id", flat=True)) == sorted([delivery_lead.pk, second_lead.pk])


def test_a_refused_proposal_rings_no_bell(rep, manager, other_rep, django_capture_on_commit_callbacks):
    # given
    handoff = won_handoff(rep=rep)
    # when: a rep (not a delivery lead) is proposed, which is refused
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Exception, match="Propose a delivery lead"):
        handoff_propose_owner(actor=manager, handoff=handoff, owner=other_rep)
    # then
    assert not Notification.objects.exists()
