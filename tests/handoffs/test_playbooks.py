"""Playbooks: admins edit them in the app; a won deal's segment picks one; started hand-offs never change."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.common.edits import StaleEditError
from handoffs.choices import StepOwnerRole
from handoffs.models import Playbook
from handoffs.services.playbooks import StepSpec, playbook_create, playbook_update
from tests.handoffs.handoff_builders import won_handoff

pytestmark = pytest.mark.django_db

STEPS = [StepSpec("Kick-off call", StepOwnerRole.DELIVERY, 3), StepSpec("Invoice", StepOwnerRole.FINANCE, 5, False)]


def _edit(playbook, actor, **changes):
    values = {
        "name": playbook.name,
        "segment": playbook.segment,
        "is_default": playbook.is_default,
        "is_active": playbook.is_active,
        "checkin_cadence": playbook.checkin_cadence,
        "steps": STEPS,
        "expected_version": playbook.version,
    }
    values.update(changes)
    return playbook_update(actor=actor, playbook=playbook, **values)


def test_the_standard_playbook_is_seeded_as_the_default():
    playbook = Playbook.objects.get(is_default=True)
    assert playbook.name == "Standard hand-off"
    assert playbook.checkin_cadence == [7, 30, 90]
    assert playbook.steps.count() >= 5


def test_an_admin_creates_a_playbook_that_deals_of_its_segment_use(admin_user, rep):
    playbook = playbook_create(actor=admin_user, name="Enterprise", segment="enterprise", steps=STEPS)
    handoff = won_handoff(rep=rep, segment="enterprise")
    assert handoff.playbook == playbook
    assert [(s.position, s.title) for s in handoff.steps.order_by("position")] == [(1, "Kick-off call"), (2, "Invoice")]
    assert won_handoff(rep=rep).playbook.is_default


def test_editing_a_playbook_never_changes_started_handoffs(admin_user, rep):
    # given
    default = Playbook.objects.get(is_default=True)
    handoff = won_handoff(rep=rep)
    before = list(handoff.steps.order_by("position").values_list("title", "due_on"))
    # when
    _edit(default, admin_user, steps=[StepSpec("Only this now", StepOwnerRole.SALES, 1)])
    # then
    assert list(handoff.steps.order_by("position").values_list("title", "due_on")) == before
    assert [s.title for s in won_handoff(rep=rep).steps.all()] == ["Only this now"]


def test_only_admins_change_playbooks(rep, manager):
    with pytest.raises(PermissionDenied):
        playbook_create(actor=manager, name="Mine", steps=STEPS)
    with pytest.raises(PermissionDenied):
        _edit(Playbook.objects.get(is_default=True), rep)


def test_a_stale_edit_is_refused(admin_user):
    playbook = playbook_create(actor=admin_user, name="SMB", segment="smb", steps=STEPS)
    stale_version = playbook.version
    _edit(playbook, admin_user, name="SMB v2")
    with pytest.raises(StaleEditError):
        _edit(playbook, admin_user, name="SMB v3", expected_version=stale_version)


def test_making_a_playbook_the_default_unsets_the_old_one_and_one_default_must_stay(admin_user):
    old = Playbook.objects.get(is_default=True)
    new = playbook_create(actor=admin_user, name="New default", is_default=True, steps=STEPS)
    assert list(Playbook.objects.filter(is_default=True)) == [new]
    new.refresh_from_db()
    with pytest.raises(ValidationError, match="another playbook the default"):
        _edit(new, admin_user, is_default=False)
    assert old.pk != new.pk


def test_a_playbook_needs_steps_and_a_valid_cadence(admin_user):
    with pytest.raises(ValidationError):
        playbook_create(actor=admin_user, name="Empty", steps=[])
    with pytest.raises(ValidationError):
        playbook_create(actor=admin_user, name="Bad cadence", checkin_cadence=[0], steps=STEPS)


def test_the_playbook_pages_are_for_admins_only(client_for, rep, admin_user):
    assert client_for(rep).get(reverse("handoffs:playbook_list")).status_code == 403
    assert client_for(admin_user).get(reverse("handoffs:playbook_list")).status_code == 200


def test_an_admin_edits_the_steps_in_the_page(client_for, admin_user):
    # given
    playbook = playbook_create(actor=admin_user, name="SMB", segment="smb", steps=STEPS)
    client = client_for(admin_user)
    page = client.get(reverse("handoffs:playbook_edit", args=[playbook.pk]))
    assert page.status_code == 200 and "Kick-off call" in page.content.decode()
    # when: reorder (invoice first), rename, delete nothing, add one row
    data = {
        "name": "SMB",
        "segment": "smb",
        "is_active": "on",
        "checkin_cadence": "14, 60",
        "version": playbook.version,
        "steps-TOTAL_FORMS": "4",
        "steps-INITIAL_FORMS": "2",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-ORDER": "2",
        "steps-0-title": "Kick-off call",
        "steps-0-owner_role": "delivery",
        "steps-0-due_offset_days": "3",
        "steps-0-required": "on",
        "steps-1-ORDER": "1",
        "steps-1-title": "Invoice",
        "steps-1-owner_role": "finance",
        "steps-1-due_offset_days": "5",
        "steps-2-ORDER": "3",
        "steps-2-title": "Training",
        "steps-2-owner_role": "delivery",
        "steps-2-due_offset_days": "10",
        "steps-3-title": "",
        "steps-3-owner_role": "sales",
    }
    response = client.post(reverse("handoffs:playbook_edit", args=[playbook.pk]), data)
    # then
    assert response.status_code == 302
    playbook.refresh_from_db()
    assert playbook.checkin_cadence == [14, 60]
    assert list(playbook.steps.values_list("position", "title")) == [
        (1, "Invoice"),
        (2, "Kick-off call"),
        (3, "Training"),
    ]


def test_a_step_without_due_days_keeps_the_form_with_an_error(client_for, admin_user):
    data = {
        "name": "Broken",
        "checkin_cadence": "7",
        "steps-TOTAL_FORMS": "1",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-title": "Typed title",
        "steps-0-owner_role": "sales",
        "steps-0-due_offset_days": "",
    }
    response = client_for(admin_user).post(reverse("handoffs:playbook_create"), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Say how many days" in body and 'value="Typed title"' in body
    assert not Playbook.objects.filter(name="Broken").exists()
