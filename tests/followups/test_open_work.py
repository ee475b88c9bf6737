"""A deactivated user's open work: listed for their manager (or an admin), reassigned a
group or a few items at a time, all or nothing; and nobody inactive is reminded."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import EventVerb, Role
from accounts.models import Account, OwnershipChange, TimelineEvent
from followups.choices import CheckInStatus, MessagePurpose, MessageStatus, ReminderKind
from followups.models import CheckIn, OutboxMessage
from followups.selectors.open_work import (
    KIND_ACCOUNTS,
    KIND_CHECKINS,
    KIND_DEALS,
    KIND_HANDOFFS_DELIVERY,
    KIND_HANDOFFS_REP,
    KIND_PROMISES,
    KIND_STEPS,
    KINDS,
    ROWS_SHOWN,
    open_work_of,
)
from followups.services.open_work import open_work_reassign
from followups.services.reminders import reminders_scan
from handoffs.choices import HandoffStatus, PromiseStatus, Stage, StepOwnerRole, StepStatus
from handoffs.models import Deal, Handoff, HandoffStep, Promise
from tests.factories import (
    AccountFactory,
    CheckInFactory,
    DealFactory,
    HandoffFactory,
    HandoffStepFactory,
    PromiseFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# A Wednesday, 10:00 UTC: inside every test user's working hours.
NOW = datetime.datetime(2026, 3, 4, 10, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def deactivate(user):
    user.is_active = False
    user.save(update_fields=["is_active"])
    return user


def rep_holdings(rep, *, size: int = 1) -> dict[str, list]:
    """`size` of everything a rep can hold, and some of what they no longer hold."""
    held: dict[str, list] = {kind: [] for kind in KINDS}
    for _ in range(size):
        held[KIND_ACCOUNTS].append(AccountFactory(owner=rep))
        held[KIND_DEALS].append(DealFactory(owner=rep, next_step_due=TODAY - datetime.timedelta(days=2)))
        held[KIND_ACCOUNTS].append(held[KIND_DEALS][-1].account)
        handoff = HandoffFactory(deal__owner=rep, status=HandoffStatus.AWAITING_OWNER)
        held[KIND_ACCOUNTS].append(handoff.deal.account)
        held[KIND_HANDOFFS_REP].append(handoff)
        held[KIND_STEPS].append(
            HandoffStepFactory(handoff=handoff, owner_role=StepOwnerRole.SALES, assignee=rep, due_on=TODAY)
        )
        held[KIND_CHECKINS].append(CheckInFactory(handoff=handoff, rep=rep, due_on=TODAY))
    # no longer open work: a lost deal, a complete hand-off, a done step, a logged check-in
    DealFactory(
        owner=rep,
        account=held[KIND_ACCOUNTS][0],
        stage=Stage.LOST,
        closed_on=TODAY,
        lost_reason="price",
        next_step="",
        next_step_due=None,
    )
    done = HandoffFactory(deal__owner=rep, deal__account=held[KIND_ACCOUNTS][0], status=HandoffStatus.COMPLETE)
    HandoffStepFactory(handoff=done, assignee=rep, status=StepStatus.DONE, owner_role=StepOwnerRole.SALES)
    CheckInFactory(handoff=done, rep=rep, status=CheckInStatus.DONE, cadence_days=30)
    return held


def delivered_handoff(rep, lead, *, status=HandoffStatus.ACCEPTED) -> Handoff:
    """A hand-off `lead` accepted (owning the account), with a delivery step and a promise."""
    handoff = HandoffFactory(deal__owner=rep, status=status, proposed_owner=lead, delivery_owner=lead)
    Account.objects.filter(pk=handoff.deal.account_id).update(owner=lead)
    HandoffStepFactory(handoff=handoff, owner_role=StepOwnerRole.DELIVERY, assignee=lead)
    PromiseFactory(deal=handoff.deal, owner=lead, status=PromiseStatus.CONFIRMED)
    return handoff


def ids(group) -> set[int]:
    return {row.item_id for row in group.rows}


# --- the list ---------------------------------------------------------------------------


def test_it_lists_everything_a_deactivated_rep_still_holds_and_nothing_done(rep, manager):
    # given
    held = rep_holdings(rep)
    deactivate(rep)
    # when
    work = open_work_of(rep, actor=manager)
    # then
    for kind in (KIND_ACCOUNTS, KIND_DEALS, KIND_HANDOFFS_REP, KIND_STEPS, KIND_CHECKINS):
        assert ids(work.group(kind)) == {item.pk for item in held[kind]}, kind
    assert work.group(KIND_HANDOFFS_DELIVERY).count == 0
    assert work.group(KIND_PROMISES).count == 0
    assert work.total == 3 + 1 + 1 + 1 + 1
    deal_row = work.group(KIND_DEALS).rows[0]
    assert deal_row.url == reverse("handoffs:deal_detail", args=[held[KIND_DEALS][0].pk])


def test_it_lists_a_delivery_leads_proposals_deliveries_steps_and_promises(rep, delivery_lead, delivery_manager):
    # given
    accepted = delivered_handoff(rep, delivery_lead)
    proposed = HandoffFactory(
        deal__owner=rep, status=HandoffStatus.OWNER_PROPOSED, proposed_owner=delivery_lead, proposed_by=rep
    )
    declined = HandoffFactory(deal__owner=rep, status=HandoffStatus.DECLINED, proposed_owner=delivery_lead)
    deactivate(delivery_lead)
    # when
    work = open_work_of(delivery_lead, actor=delivery_manager)
    # then
    assert ids(work.group(KIND_HANDOFFS_DELIVERY)) == {accepted.pk, proposed.pk}
    assert declined.pk not in ids(work.group(KIND_HANDOFFS_DELIVERY))
    assert ids(work.group(KIND_ACCOUNTS)) == {accepted.deal.account_id}
    assert ids(work.group(KIND_STEPS)) == set(accepted.steps.values_list("pk", flat=True))
    assert ids(work.group(KIND_PROMISES)) == set(
        Promise.objects.filter(deal=accepted.deal).values_list("pk", flat=True)
    )


def test_its_query_count_does_not_grow_with_the_rows(rep, other_rep, manager):
    # given
    small = UserFactory(role=Role.REP, team=rep.team)
    rep_holdings(small, size=1)
    rep_holdings(rep, size=6)
    # when
    with CaptureQueriesContext(connection) as few:
        open_work_of(small, actor=manager)
    with CaptureQueriesContext(connection) as many:
        work = open_work_of(rep, actor=manager)
    # then
    assert work.group(KIND_DEALS).count == 6
    assert len(many) == len(few)


# --- reassigning --------------------------------------------------------------------------


def test_it_gives_all_open_deals_to_another_rep_with_a_timeline_event_each(rep, other_rep, manager):
    # given
    held = rep_holdings(rep, size=2)
    deactivate(rep)
    deal_ids = [deal.pk for deal in held[KIND_DEALS]]
    # when
    count = open_work_reassign(actor=manager, person=rep, kind=KIND_DEALS, item_ids=deal_ids, to_user=other_rep)
    # then
    assert count == 2
    for deal in Deal.objects.filter(pk__in=deal_ids):
        assert (deal.owner_id, deal.team_id, deal.version) == (other_rep.pk, other_rep.team_id, 2)
    events = TimelineEvent.objects.filter(verb=EventVerb.OWNER_CHANGED, subject_id__in=deal_ids)
    assert events.count() == 2
    assert all(event.actor_id == manager.pk and event.data["to_user"] == other_rep.pk for event in events)
    assert open_work_of(rep, actor=manager).group(KIND_DEALS).count == 0


def test_it_gives_only_the_ticked_checkins(rep, other_rep, manager):
    # given
    held = rep_holdings(rep, size=2)
    first, second = held[KIND_CHECKINS]
    # when
    open_work_reassign(actor=manager, person=rep, kind=KIND_CHECKINS, item_ids=[first.pk], to_user=other_rep)
    # then
    assert CheckIn.objects.get(pk=first.pk).rep_id == other_rep.pk
    assert CheckIn.objects.get(pk=second.pk).rep_id == rep.pk
    assert TimelineEvent.objects.filter(verb=EventVerb.OWNER_CHANGED, data__checkin_id=first.pk).count() == 1
    assert ids(open_work_of(rep, actor=manager).group(KIND_CHECKINS)) == {second.pk}


def test_it_gives_accounts_hand_offs_and_steps_keeping_the_ownership_history(rep, other_rep, manager):
    # given
    held = rep_holdings(rep)
    deactivate(rep)
    account_ids = [account.pk for account in held[KIND_ACCOUNTS]]
    # when
    for kind in (KIND_ACCOUNTS, KIND_HANDOFFS_REP, KIND_STEPS):
        open_work_reassign(
            actor=manager, person=rep, kind=kind, item_ids=[item.pk for item in held[kind]], to_user=other_rep
        )
    # then
    assert set(Account.objects.filter(pk__in=account_ids).values_list("owner_id", flat=True)) == {other_rep.pk}
    assert OwnershipChange.objects.filter(account_id__in=account_ids, from_user=rep, to_user=other_rep).count() == 3
    assert Handoff.objects.get(pk=held[KIND_HANDOFFS_REP][0].pk).rep_id == other_rep.pk
    assert HandoffStep.objects.get(pk=held[KIND_STEPS][0].pk).assignee_id == other_rep.pk
    work = open_work_of(rep, actor=manager)
    assert {kind: work.group(kind).count for kind in (KIND_ACCOUNTS, KIND_HANDOFFS_REP, KIND_STEPS)} == dict.fromkeys(
        (KIND_ACCOUNTS, KIND_HANDOFFS_REP, KIND_STEPS), 0
    )


def test_an_accepted_hand_off_moves_with_its_account_steps_and_promises(rep, delivery_lead, delivery_manager):
    # given
    handoff = delivered_handoff(rep, delivery_lead)
    new_lead = UserFactory(role=Role.DELIVERY, team=delivery_lead.team)
    deactivate(delivery_lead)
    # when
    open_work_reassign(
        actor=delivery_manager,
        person=delivery_lead,
        kind=KIND_HANDOFFS_DELIVERY,
        item_ids=[handoff.pk],
        to_user=new_lead,
    )
    # then
    handoff.refresh_from_db()
    assert handoff.delivery_owner_id == new_lead.pk
    assert Account.objects.get(pk=handoff.deal.account_id).owner_id == new_lead.pk
    assert set(handoff.steps.values_list("assignee_id", flat=True)) == {new_lead.pk}
    assert set(Promise.objects.filter(deal=handoff.deal).values_list("owner_id", flat=True)) == {new_lead.pk}
    assert open_work_of(delivery_lead, actor=delivery_manager).is_empty


def test_a_proposal_is_made_to_the_new_lead_who_is_emailed(rep, delivery_lead, delivery_manager):
    # given
    handoff = HandoffFactory(
        deal__owner=rep, status=HandoffStatus.OWNER_PROPOSED, proposed_owner=delivery_lead, proposed_by=rep
    )
    new_lead = UserFactory(role=Role.DELIVERY, team=delivery_lead.team)
    deactivate(delivery_lead)
    # when
    open_work_reassign(
        actor=delivery_manager,
        person=delivery_lead,
        kind=KIND_HANDOFFS_DELIVERY,
        item_ids=[handoff.pk],
        to_user=new_lead,
    )
    # then
    handoff.refresh_from_db()
    assert (handoff.status, handoff.proposed_owner_id) == (HandoffStatus.OWNER_PROPOSED, new_lead.pk)
    assert OutboxMessage.objects.filter(purpose=MessagePurpose.HANDOFF_PROPOSED, recipient=new_lead).count() == 1
    assert TimelineEvent.objects.filter(verb=EventVerb.OWNER_PROPOSED, data__proposed_owner=new_lead.pk).exists()


def test_a_stale_item_refuses_the_whole_submit_and_changes_nothing(rep, other_rep, manager, admin_user):
    # given: the page listed two deals; an admin moved one away meanwhile
    held = rep_holdings(rep, size=2)
    first, second = held[KIND_DEALS]
    open_work_reassign(actor=admin_user, person=rep, kind=KIND_DEALS, item_ids=[second.pk], to_user=manager)
    events_before = TimelineEvent.objects.count()
    # when
    with pytest.raises(ValidationError) as refused:
        open_work_reassign(
            actor=manager, person=rep, kind=KIND_DEALS, item_ids=[first.pk, second.pk], to_user=other_rep
        )
    # then
    assert "no longer" in str(refused.value) and second.title in str(refused.value)
    assert Deal.objects.get(pk=first.pk).owner_id == rep.pk
    assert Deal.objects.get(pk=second.pk).owner_id == manager.pk
    assert TimelineEvent.objects.count() == events_before


def test_it_refuses_a_new_holder_who_may_not_hold_the_item(rep, manager, delivery_lead, outsider_team_rep):
    # given
    held = rep_holdings(rep)
    deal_ids = [deal.pk for deal in held[KIND_DEALS]]
    inactive_rep = deactivate(UserFactory(role=Role.REP, team=rep.team))
    # when / then: a delivery lead holds no deal, an outsider is not the manager's to give to
    for to_user in (delivery_lead, outsider_team_rep, inactive_rep):
        with pytest.raises(ValidationError):
            open_work_reassign(actor=manager, person=rep, kind=KIND_DEALS, item_ids=deal_ids, to_user=to_user)
    assert Deal.objects.get(pk=deal_ids[0]).owner_id == rep.pk


def test_only_an_admin_or_the_persons_manager_may_reassign(rep, other_rep, delivery_manager, outsider_team_rep):
    # given
    held = rep_holdings(rep)
    other_manager = outsider_team_rep.team.manager
    # when / then
    for actor in (delivery_manager, other_manager, other_rep):
        with pytest.raises(PermissionDenied):
            open_work_reassign(
                actor=actor, person=rep, kind=KIND_DEALS, item_ids=[held[KIND_DEALS][0].pk], to_user=other_rep
            )


# --- reminders ------------------------------------------------------------------------------


def test_a_pending_reminder_follows_the_deal_to_its_new_owner(rep, other_rep, manager):
    # given: the deactivated rep's deal is overdue and its reminder not sent yet
    held = rep_holdings(rep)
    deal = held[KIND_DEALS][0]
    reminders_scan()
    reminder = OutboxMessage.objects.get(kind=ReminderKind.NEXT_STEP_OVERDUE, item_id=deal.pk)
    assert reminder.recipient_id == rep.pk
    OutboxMessage.objects.filter(pk=reminder.pk).update(status=MessageStatus.PENDING)
    # when
    open_work_reassign(actor=manager, person=rep, kind=KIND_DEALS, item_ids=[deal.pk], to_user=other_rep)
    # then
    reminder.refresh_from_db()
    assert (reminder.recipient_id, reminder.recipient_key, reminder.status) == (
        other_rep.pk,
        f"user:{other_rep.pk}",
        MessageStatus.PENDING,
    )


def test_the_scan_reminds_a_deactivated_owners_manager_instead(rep, manager):
    # given: a deactivated rep's overdue check-in; a deactivated rep of a team without manager
    overdue = CheckInFactory(handoff__deal__owner=rep, due_on=TODAY - datetime.timedelta(days=1))
    deactivate(rep)
    lonely = deactivate(UserFactory(role=Role.REP, team=None))
    orphan = CheckInFactory(handoff__deal__owner=lonely, due_on=TODAY - datetime.timedelta(days=1))
    # when
    reminders_scan()
    # then
    recipients = dict(
        OutboxMessage.objects.filter(kind=ReminderKind.CHECKIN_OVERDUE).values_list("item_id", "recipient_id")
    )
    assert recipients == {overdue.pk: manager.pk}
    assert orphan.pk not in recipients


# --- the page -------------------------------------------------------------------------------


def open_work_url(user) -> str:
    return reverse("followups:open_work", args=[user.pk])


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin_user", 200),
        ("manager", 200),
        ("delivery_manager", 403),
        ("other_manager", 403),
        ("other_rep", 403),
        ("rep", 403),
    ],
)
def test_the_page_is_for_admins_and_the_persons_manager(request, client_for, rep, who, status, outsider_team_rep):
    # given
    rep_holdings(rep)
    actor = outsider_team_rep.team.manager if who == "other_manager" else request.getfixturevalue(who)
    # when
    response = client_for(actor).get(open_work_url(rep))
    # then
    assert response.status_code == status


def test_an_anonymous_visitor_is_sent_to_log_in(client, rep):
    # when
    response = client.get(open_work_url(rep))
    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_page_gives_a_whole_group_then_says_nothing_is_left(client_for, rep, other_rep, manager):
    # given: a rep whose only open work is two deals
    first = DealFactory(owner=rep)
    second = DealFactory(owner=rep, account=first.account)
    Account.objects.filter(pk=first.account_id).update(owner=other_rep)
    deactivate(rep)
    client = client_for(manager)
    page = client.get(open_work_url(rep))
    assert page.context["work"].group(KIND_DEALS).count == 2
    # when
    response = client.post(
        open_work_url(rep),
        {"kind": KIND_DEALS, "listed": [first.pk, second.pk], "to_user": other_rep.pk, "scope": "all"},
        follow=True,
    )
    # then
    assert set(Deal.objects.filter(pk__in=[first.pk, second.pk]).values_list("owner_id", flat=True)) == {other_rep.pk}
    assert "Nothing left" in response.content.decode()


def test_the_page_shows_a_stale_submit_as_an_error_and_keeps_the_ticks(client_for, rep, other_rep, manager):
    # given
    held = rep_holdings(rep, size=2)
    first, second = held[KIND_CHECKINS]
    CheckIn.objects.filter(pk=second.pk).update(rep=other_rep)
    # when
    response = client_for(manager).post(
        open_work_url(rep),
        {"kind": KIND_CHECKINS, "items": [first.pk, second.pk], "to_user": other_rep.pk, "scope": "selected"},
    )
    # then
    assert response.status_code == 200
    body = response.content.decode()
    assert "no longer" in body and "Nothing was reassigned" in body
    assert CheckIn.objects.get(pk=first.pk).rep_id == rep.pk
    assert f'value="{first.pk}" id="{KIND_CHECKINS}-{first.pk}" checked' in body


def test_the_page_refuses_a_submit_with_nothing_ticked_or_nobody_chosen(client_for, rep, manager):
    # given
    held = rep_holdings(rep)
    # when
    response = client_for(manager).post(
        open_work_url(rep), {"kind": KIND_DEALS, "listed": [held[KIND_DEALS][0].pk], "scope": "selected"}
    )
    # then
    form = next(form for group, form, _ in response.context["group_forms"] if group.kind == KIND_DEALS)
    assert set(form.errors) == {"items", "to_user"}
    assert Deal.objects.get(pk=held[KIND_DEALS][0].pk).owner_id == rep.pk


def test_someone_who_is_not_a_manager_learns_nothing_of_who_exists(client_for, rep, other_rep, manager):
    # given
    missing = reverse("followups:open_work", args=[999_999])
    # when / then: a rep is refused before any lookup; a manager finds nobody there
    assert client_for(other_rep).get(missing).status_code == 403
    assert client_for(other_rep).get(open_work_url(rep)).status_code == 403
    assert client_for(manager).get(missing).status_code == 404


def test_the_page_refuses_crafted_ids_without_an_error_page(client_for, rep, other_rep, manager):
    # given
    rep_holdings(rep)
    # when
    response = client_for(manager).post(
        open_work_url(rep),
        {"kind": KIND_DEALS, "items": ["9" * 30, "x"], "to_user": other_rep.pk, "scope": "selected"},
    )
    # then
    assert response.status_code == 200
    assert "Choose items from the list." in response.content.decode()


# --- a long list (issue 17) -------------------------------------------------------------


def test_a_long_group_lists_its_first_rows_and_counts_them_all(client_for, rep, other_rep, manager, monkeypatch):
    # given: five scheduled check-ins, someone to give them to, and a page that lists two
    monkeypatch.setattr("followups.selectors.open_work.ROWS_SHOWN", 2)
    handoff = HandoffFactory(deal__owner=rep, status=HandoffStatus.AWAITING_OWNER)
    checkins = [
        CheckInFactory(handoff=handoff, rep=rep, cadence_days=day + 1, due_on=TODAY + datetime.timedelta(days=day))
        for day in range(5)
    ]
    # when
    response = client_for(manager).get(open_work_url(rep))
    # then: the two due first are listed, all five counted and in the one "listed" field
    group = response.context["work"].group(KIND_CHECKINS)
    assert [row.item_id for row in group.rows] == [checkins[0].pk, checkins[1].pk]
    assert group.count == 5 and group.is_capped
    body = response.content.decode()
    assert "Showing the first 2 of 5 check-ins" in body
    assert f'name="listed" value="{",".join(str(checkin.pk) for checkin in checkins)}"' in body
    assert "Give all 5 check-ins" in body


def test_give_all_gives_the_rows_the_page_did_not_list(client_for, rep, other_rep, manager, monkeypatch):
    # given
    monkeypatch.setattr("followups.selectors.open_work.ROWS_SHOWN", 2)
    handoff = HandoffFactory(deal__owner=rep, status=HandoffStatus.AWAITING_OWNER)
    checkins = [CheckInFactory(handoff=handoff, rep=rep, cadence_days=day + 1, due_on=TODAY) for day in range(4)]
    client = client_for(manager)
    listed = client.get(open_work_url(rep)).context["work"].group(KIND_CHECKINS).listed_value
    # when: the form posts its one comma-joined "listed" field
    response = client.post(
        open_work_url(rep), {"kind": KIND_CHECKINS, "listed": listed, "to_user": other_rep.pk, "scope": "all"}
    )
    # then
    assert response.status_code == 302
    assert set(CheckIn.objects.filter(pk__in=[c.pk for c in checkins]).values_list("rep_id", flat=True)) == {
        other_rep.pk
    }


def test_a_crafted_listed_field_is_refused_without_an_error_page(client_for, rep, other_rep, manager):
    # given
    held = rep_holdings(rep)
    # when
    response = client_for(manager).post(
        open_work_url(rep),
        {"kind": KIND_DEALS, "listed": f"{held[KIND_DEALS][0].pk},x,", "to_user": other_rep.pk, "scope": "all"},
    )
    # then
    assert response.status_code == 200
    form = next(form for group, form, _ in response.context["group_forms"] if group.kind == KIND_DEALS)
    assert form.errors["listed"] == ["Choose items from the list."]
    assert Deal.objects.get(pk=held[KIND_DEALS][0].pk).owner_id == rep.pk


def test_the_page_reads_the_same_number_of_queries_for_1_or_60_check_ins(client_for, rep, manager):
    # given
    client = client_for(manager)
    handoff = HandoffFactory(deal__owner=rep, status=HandoffStatus.AWAITING_OWNER)
    CheckInFactory(handoff=handoff, rep=rep, cadence_days=1, due_on=TODAY)
    with CaptureQueriesContext(connection) as few:
        client.get(open_work_url(rep))
    for day in range(2, 61):
        CheckInFactory(handoff=handoff, rep=rep, cadence_days=day, due_on=TODAY)
    # when
    with CaptureQueriesContext(connection) as many:
        response = client.get(open_work_url(rep))
    # then: past ROWS_SHOWN the rows listed stop growing, the queries never did
    assert response.context["work"].group(KIND_CHECKINS).count == 60
    assert len(response.context["work"].group(KIND_CHECKINS).rows) == ROWS_SHOWN
    assert len(many) == len(few)
