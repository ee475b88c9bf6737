"""People managed in the app (issue 15): admins invite users (the e-mail goes through the
outbox), change their role, team and the teams they lead, deactivate and reactivate
them, keep the teams; every change is in the audit log, old → new, and the log has a page."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.audit import AuditAction, audit_record
from accounts.choices import Role
from accounts.models import AuditEntry, Team, User
from accounts.people.services import (
    people_deactivate,
    people_invite,
    people_lift_lockout,
    people_reactivate,
    people_resend_invite,
    people_update,
    team_create,
    team_delete,
    team_update,
)
from accounts.services import organisation_settings_update
from followups.choices import MessagePurpose, MessageStatus
from followups.models import OutboxMessage
from followups.services.outbox import outbox_deliver_due
from handoffs.choices import StepOwnerRole
from handoffs.services.playbooks import StepSpec, playbook_create, playbook_update
from tests.conftest import TEST_PASSWORD
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

NOON = "2026-03-02 12:00:00+00:00"


def _invite(actor, **overrides):
    values = {
        "email": "Ada.Lovelace@Example.test",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "role": Role.REP,
        "team": None,
    }
    values.update(overrides)
    return people_invite(actor=actor, **values)


def _entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def _invite_link(message) -> str:
    return re.search(r"http://testserver(/me/welcome/\S+/)", message.body).group(1)


# --- inviting ----------------------------------------------------------------------------


@time_machine.travel(NOON, tick=False)
def test_it_invites_a_user_with_an_audit_entry_and_one_outbox_row(admin_user, sales_team):
    # when
    user = _invite(admin_user, team=sales_team)
    # then: a user who signs in with their address, without a password yet
    assert (user.username, user.email, user.role, user.team, user.is_active) == (
        "ada.lovelace@example.test",
        "ada.lovelace@example.test",
        Role.REP,
        sales_team,
        True,
    )
    assert not user.has_usable_password()
    assert (user.invited_by, user.invited_at.isoformat()) == (admin_user, "2026-03-02T12:00:00+00:00")
    [entry] = _entries(AuditAction.USER_INVITED)
    assert (entry.actor, entry.target_type, entry.target_id) == (admin_user, "user", str(user.pk))
    assert entry.changes["email"] == [None, "ada.lovelace@example.test"]
    assert entry.changes["team"] == [None, "Sales"]
    [row] = OutboxMessage.objects.all()
    assert (row.purpose, row.kind, row.item_id, row.recipient, row.status) == (
        MessagePurpose.USER_INVITE,
        "user",
        user.pk,
        user,
        MessageStatus.PENDING,
    )
    assert mail.outbox == []  # nothing is sent inside the request


def test_a_duplicate_address_is_refused_and_nothing_is_written(admin_user, rep):
    # when
    with pytest.raises(ValidationError) as refused:
        _invite(admin_user, email=rep.email.upper())
    # then
    assert "email" in refused.value.error_dict
    assert User.objects.filter(email__iexact=rep.email).count() == 1
    assert not AuditEntry.objects.exists() and not OutboxMessage.objects.exists()


def test_the_invite_form_shows_a_duplicate_as_a_field_error_and_keeps_what_was_typed(client_for, admin_user, rep):
    # when
    response = client_for(admin_user).post(
        reverse("people:invite"),
        {"email": rep.email, "first_name": "Someone", "last_name": "Else", "role": Role.REP, "team": ""},
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == ["Someone already has this e-mail address."]
    assert 'value="Someone"' in response.content.decode()
    assert User.objects.count() == 3 and not OutboxMessage.objects.exists()


def test_only_an_admin_invites(manager):
    with pytest.raises(PermissionDenied):
        _invite(manager)
    assert not User.objects.filter(email="ada.lovelace@example.test").exists()


@time_machine.travel(NOON, tick=False)
def test_the_invitation_email_links_to_a_page_where_the_person_sets_a_password_and_is_signed_in(
    client, admin_user, sales_team
):
    # given
    user = _invite(admin_user, first_name="D'Arcy", team=sales_team)
    # when
    outbox_deliver_due()
    # then: one e-mail, plain text unescaped, naming the inviter, with the link
    [message] = mail.outbox
    assert message.to == ["ada.lovelace@example.test"]
    assert message.subject == f"{admin_user} invited you to Baton"
    assert "Hello D'Arcy," in message.body and "Sales rep in the Sales team" in message.body
    link = _invite_link(message)
    assert f'href="http://testserver{link}"' in message.alternatives[0][0]
    assert OutboxMessage.objects.get().status == MessageStatus.SENT
    # when: the person opens it and chooses a password
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-fresh-one-for-baton-42", "new_password2": "a-fresh-one-for-baton-42"},
    )
    # then: the password is set and they are signed in
    assert done.status_code == 302 and done.url == reverse("home")
    user.refresh_from_db()
    assert user.check_password("a-fresh-one-for-baton-42")
    assert int(client.session["_auth_user_id"]) == user.pk
    # and: the link works once
    client.logout()
    again = client.get(link, follow=True)
    assert not again.context["validlink"]


def test_a_resent_invitation_replaces_one_not_yet_sent(admin_user, time_machine):
    # given
    time_machine.move_to(NOON, tick=False)
    user = _invite(admin_user)
    time_machine.move_to("2026-03-02 12:00:05+00:00", tick=False)
    # when
    people_resend_invite(actor=admin_user, user=user)
    outbox_deliver_due()
    # then: one e-mail, and the resend is recorded
    assert len(mail.outbox) == 1
    statuses = sorted(OutboxMessage.objects.values_list("status", flat=True))
    assert statuses == [MessageStatus.CANCELLED, MessageStatus.SENT]
    assert len(_entries(AuditAction.USER_INVITE_RESENT)) == 1


def test_the_invitation_is_not_sent_to_someone_deactivated_meanwhile_nor_resent_after_sign_in(admin_user, rep):
    # given
    user = _invite(admin_user)
    people_deactivate(actor=admin_user, user=user)
    # when
    outbox_deliver_due()
    # then
    assert mail.outbox == []
    assert OutboxMessage.objects.get().last_error == "The user is deactivated."
    # and: someone who signed in already is not invited again
    with pytest.raises(ValidationError, match="signed in already"):
        people_resend_invite(actor=admin_user, user=rep)


def test_a_deactivated_persons_link_does_not_set_a_password(client, admin_user):
    # given
    user = _invite(admin_user)
    outbox_deliver_due()
    link = _invite_link(mail.outbox[0])
    people_deactivate(actor=admin_user, user=user)
    # when
    page = client.get(link, follow=True)
    # then
    assert not page.context["validlink"]


# --- editing, deactivating -----------------------------------------------------------------


def test_an_edit_is_recorded_old_to_new(admin_user, rep, sales_team, delivery_team):
    # when
    people_update(
        actor=admin_user,
        user=rep,
        first_name=rep.first_name,
        last_name=rep.last_name,
        role=Role.MANAGER,
        team=delivery_team,
        managed_teams=[delivery_team],
    )
    # then
    [entry] = _entries(AuditAction.USER_UPDATED)
    assert (entry.actor, entry.target_id) == (admin_user, str(rep.pk))
    assert entry.changes == {
        "role": ["Sales rep", "Manager"],
        "team": ["Sales", "Delivery"],
        "manages": [[], ["Delivery"]],
    }
    # and: the team it took from its manager records that too
    [team_entry] = _entries(AuditAction.TEAM_UPDATED)
    assert team_entry.target_label == "Delivery" and team_entry.changes["manager"][1] == str(rep)
    assert Team.objects.get(pk=delivery_team.pk).manager == rep


def test_a_save_that_changes_nothing_records_nothing(admin_user, rep):
    people_update(
        actor=admin_user,
        user=rep,
        first_name=rep.first_name,
        last_name=rep.last_name,
        role=rep.role,
        team=rep.team,
        managed_teams=[],
    )
    assert not AuditEntry.objects.exists()


def test_only_a_manager_leads_a_team(admin_user, rep, delivery_team):
    with pytest.raises(ValidationError) as refused:
        people_update(
            actor=admin_user,
            user=rep,
            first_name="x",
            last_name="y",
            role=Role.REP,
            team=None,
            managed_teams=[delivery_team],
        )
    assert "managed_teams" in refused.value.error_dict
    rep.refresh_from_db()
    assert (rep.first_name, rep.team_id) != ("x", None) and not AuditEntry.objects.exists()


def test_the_last_admin_stays_an_admin_and_active(admin_user, rep):
    # given: admin_user is the only admin (and not a superuser, who is an admin whatever the role)
    User.objects.update(is_superuser=False)
    admin_user.refresh_from_db()
    other_admin = UserFactory(role=Role.ADMIN)
    people_deactivate(actor=admin_user, user=other_admin)
    # when / then: demoting the last one is refused
    with pytest.raises(ValidationError, match="last active admin"):
        people_update(
            actor=admin_user,
            user=admin_user,
            first_name="A",
            last_name="B",
            role=Role.REP,
            team=None,
            managed_teams=[],
        )
    with pytest.raises(ValidationError, match="yourself"):
        people_deactivate(actor=admin_user, user=admin_user)
    admin_user.refresh_from_db()
    assert (admin_user.role, admin_user.is_active) == (Role.ADMIN, True)
    assert len(_entries(AuditAction.USER_DEACTIVATED)) == 1


def test_an_admin_is_demoted_while_another_remains_but_the_last_one_is_not_deactivated(admin_user):
    # given: two admins, neither a superuser
    User.objects.filter(pk=admin_user.pk).update(is_superuser=False)
    admin_user.refresh_from_db()
    second = UserFactory(role=Role.ADMIN)
    # when: the second is deactivated
    people_deactivate(actor=admin_user, user=second)
    # then: the first cannot be taken away by the second once reactivated and demoted
    people_reactivate(actor=admin_user, user=second)
    people_update(actor=second, user=second, first_name="S", last_name="", role=Role.REP, team=None, managed_teams=[])
    second.refresh_from_db()
    with pytest.raises(PermissionDenied):
        people_deactivate(actor=second, user=admin_user)
    with pytest.raises(ValidationError, match="yourself"):
        people_deactivate(actor=admin_user, user=admin_user)
    assert User.objects.get(pk=admin_user.pk).is_active


def test_deactivating_is_recorded_and_shows_the_persons_open_work(client_for, admin_user, rep):
    # given
    client = client_for(admin_user)
    confirm = client.get(reverse("people:deactivate", args=[rep.pk]))
    assert confirm.status_code == 200 and "Yes, deactivate" in confirm.content.decode()
    # when
    response = client.post(reverse("people:deactivate", args=[rep.pk]))
    # then
    assert response.status_code == 302 and response.url == f"/people/{rep.pk}/open-work/"
    rep.refresh_from_db()
    assert not rep.is_active
    [entry] = _entries(AuditAction.USER_DEACTIVATED)
    assert entry.changes == {"active": [True, False]} and entry.actor == admin_user
    # when: reactivated
    client.post(reverse("people:reactivate", args=[rep.pk]))
    # then
    rep.refresh_from_db()
    assert rep.is_active and len(_entries(AuditAction.USER_REACTIVATED)) == 1


def test_the_edit_page_saves_and_lists_the_persons_history(client_for, admin_user, rep, delivery_team):
    client = client_for(admin_user)
    response = client.post(
        reverse("people:edit", args=[rep.pk]),
        {"first_name": "Renamed", "last_name": rep.last_name, "role": Role.REP, "team": delivery_team.pk},
    )
    assert response.status_code == 302
    page = client.get(reverse("people:edit", args=[rep.pk])).content.decode()
    assert "User changed" in page and "Sales" in page and "Delivery" in page and "→" in page


# --- teams ---------------------------------------------------------------------------------


def test_teams_are_created_renamed_given_a_manager_and_deleted_only_when_empty(admin_user, manager, rep):
    # when
    team = team_create(actor=admin_user, name=" Partners ")
    team_update(actor=admin_user, team=team, name="Channel partners", manager=manager)
    # then
    team.refresh_from_db()
    assert (team.name, team.manager) == ("Channel partners", manager)
    [created] = _entries(AuditAction.TEAM_CREATED)
    [updated] = _entries(AuditAction.TEAM_UPDATED)
    assert created.changes["name"] == [None, "Partners"]
    assert updated.changes == {"name": ["Partners", "Channel partners"], "manager": [None, str(manager)]}
    # and: a team with members is not deleted
    rep.team = team
    rep.save(update_fields=["team"])
    with pytest.raises(ValidationError, match="1 members"):
        team_delete(actor=admin_user, team=team)
    assert Team.objects.filter(pk=team.pk).exists()
    # when: it is empty
    rep.team = None
    rep.save(update_fields=["team"])
    team_delete(actor=admin_user, team=team)
    # then
    assert not Team.objects.filter(pk=team.pk).exists()
    [deleted] = _entries(AuditAction.TEAM_DELETED)
    assert deleted.changes["name"] == ["Channel partners", None]


def test_a_team_name_is_unique_and_its_manager_a_manager(admin_user, rep, sales_team):
    with pytest.raises(ValidationError) as same_name:
        team_create(actor=admin_user, name="sales")
    with pytest.raises(ValidationError) as not_a_manager:
        team_create(actor=admin_user, name="New", manager=rep)
    assert "name" in same_name.value.error_dict and "manager" in not_a_manager.value.error_dict
    assert Team.objects.count() == 1 and not AuditEntry.objects.exists()


def test_the_teams_page_creates_a_team(client_for, admin_user, manager):
    response = client_for(admin_user).post(reverse("people:team_list"), {"name": "Renewals", "manager": manager.pk})
    assert response.status_code == 302
    assert Team.objects.get(name="Renewals").manager == manager


# --- settings and playbooks ------------------------------------------------------------------


def test_a_settings_change_is_recorded_old_to_new(admin_user):
    organisation_settings_update(actor=admin_user, meeting_within_days=14, checkin_grace_days=3)
    [entry] = _entries(AuditAction.SETTINGS_UPDATED)
    assert entry.changes == {"meeting_within_days": [10, 14]}
    assert entry.actor == admin_user


def test_playbook_changes_are_recorded(admin_user):
    steps = [StepSpec("Kick-off call", StepOwnerRole.DELIVERY, 3)]
    playbook = playbook_create(actor=admin_user, name="SMB", segment="smb", steps=steps)
    playbook_update(
        actor=admin_user,
        playbook=playbook,
        expected_version=playbook.version,
        name="SMB v2",
        segment="smb",
        is_default=False,
        is_active=True,
        checkin_cadence=[],
        steps=[*steps, StepSpec("Invoice", StepOwnerRole.FINANCE, 5, False)],
    )
    [created] = _entries(AuditAction.PLAYBOOK_CREATED)
    [updated] = _entries(AuditAction.PLAYBOOK_UPDATED)
    assert created.changes["name"] == [None, "SMB"]
    assert updated.changes["name"] == ["SMB", "SMB v2"]
    assert updated.changes["steps"][1][-1] == "Invoice (finance, day 5, optional)"


# --- the pages -------------------------------------------------------------------------------

ADMIN_PAGES = [
    ("people:list", False),
    ("people:invite", False),
    ("people:edit", True),
    ("people:deactivate", True),
    ("people:team_list", False),
    ("people:team_edit", "team"),
    ("people:audit_log", False),
]


def _url(name, takes, user, team):
    if takes is True:
        return reverse(name, args=[user.pk])
    if takes == "team":
        return reverse(name, args=[team.pk])
    return reverse(name)


@pytest.mark.parametrize(("name", "takes"), ADMIN_PAGES)
@pytest.mark.parametrize("who", ["manager", "rep", "delivery_lead"])
def test_only_admins_open_the_pages(request, client_for, admin_user, rep, sales_team, name, takes, who):
    user = request.getfixturevalue(who)
    assert client_for(user).get(_url(name, takes, rep, sales_team)).status_code == 403
    assert client_for(admin_user).get(_url(name, takes, rep, sales_team)).status_code == 200


@pytest.mark.parametrize(("name", "takes"), ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, rep, sales_team, name, takes):
    response = client.get(_url(name, takes, rep, sales_team))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_manager_cannot_post_changes(client_for, manager, rep):
    client = client_for(manager)
    assert client.post(reverse("people:deactivate", args=[rep.pk])).status_code == 403
    assert client.post(reverse("people:reactivate", args=[rep.pk])).status_code == 403
    assert client.post(reverse("people:resend_invite", args=[rep.pk])).status_code == 403
    rep.refresh_from_db()
    assert rep.is_active and not AuditEntry.objects.exists()


def test_the_people_list_filters_and_costs_the_same_whatever_its_length(client_for, admin_user, sales_team):
    client = client_for(admin_user)
    client.get(reverse("people:list"))  # warm up (the session, the content types)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("people:list"))
        assert response.status_code == 200
        return len(captured)

    few = queries()
    for number in range(10):
        team = TeamFactory(name=f"Team {number}")
        UserFactory(team=team, role=Role.MANAGER)
        team.manager = User.objects.latest("id")
        team.save(update_fields=["manager"])
    assert queries() == few
    # filters
    UserFactory(username="gone", team=sales_team, is_active=False)
    shown = client.get(reverse("people:list"), {"team": sales_team.pk, "active": "no"}).context["page_obj"]
    assert [person.username for person in shown] == ["gone"]
    reps = client.get(reverse("people:list"), {"role": Role.ADMIN}).context["page_obj"]
    assert [person.username for person in reps] == ["admin"]


def test_the_audit_log_is_newest_first_filtered_and_paged(client_for, admin_user, rep, time_machine):
    # given: 60 entries a second apart, and one of another kind
    time_machine.move_to(NOON, tick=False)
    for number in range(60):
        time_machine.shift(1)
        audit_record(
            actor=admin_user,
            action=AuditAction.USER_UPDATED,
            target_type="user",
            target_id=rep.pk,
            target_label=str(rep),
            changes={"first_name": [f"Name {number}", f"Name {number + 1}"]},
        )
    audit_record(actor=rep, action=AuditAction.TEAM_CREATED, target_type="team", target_id=1, target_label="X")
    client = client_for(admin_user)
    # when
    first = client.get(reverse("people:audit_log"), {"action": AuditAction.USER_UPDATED})
    # then: the newest 50, old → new shown
    page = first.context["page"]
    assert len(page.events) == 50 and page.events[0].changes["first_name"] == ["Name 59", "Name 60"]
    assert "Name 59" in first.content.decode() and "→" in first.content.decode()
    # when: older
    second = client.get(
        reverse("people:audit_log"), {"action": AuditAction.USER_UPDATED, "before": page.older_cursor}
    ).context["page"]
    # then: the other 10, none twice, none of the other kind
    assert len(second.events) == 10 and second.older_cursor is None
    assert {entry.pk for entry in page.events}.isdisjoint({entry.pk for entry in second.events})
    by_rep = client.get(reverse("people:audit_log"), {"actor": rep.pk}).context["page"]
    assert [entry.action for entry in by_rep.events] == [AuditAction.TEAM_CREATED]


def test_an_admin_lifts_a_sign_in_lockout_from_the_person_page(client, client_for, admin_user, rep):
    # given: five wrong passwords lock the rep's username out
    for _ in range(5):
        client.post(reverse("login"), {"username": rep.username, "password": "wrong"}, REMOTE_ADDR="203.0.113.9")
    admin = client_for(admin_user)
    page = admin.get(reverse("people:edit", args=[rep.pk])).content.decode()
    assert "Lift the sign-in lockout" in page
    # when
    response = admin.post(reverse("people:unlock", args=[rep.pk]))
    # then: the rep signs in, and the lift is in the audit log
    assert response.status_code == 302
    signed_in = client.post(
        reverse("login"), {"username": rep.username, "password": TEST_PASSWORD}, REMOTE_ADDR="203.0.113.9"
    )
    assert signed_in.status_code == 302
    [entry] = _entries(AuditAction.LOGIN_LOCKOUT_LIFTED)
    assert entry.actor == admin_user and entry.target_id == str(rep.pk)


def test_lifting_a_lockout_nobody_has_records_nothing(client_for, admin_user, rep):
    response = client_for(admin_user).post(reverse("people:unlock", args=[rep.pk]))
    assert response.status_code == 302
    assert not _entries(AuditAction.LOGIN_LOCKOUT_LIFTED)


def test_only_an_admin_lifts_a_lockout(manager, rep):
    with pytest.raises(PermissionDenied):
        people_lift_lockout(actor=manager, user=rep)
