import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.choices import EventVerb
from accounts.common.edits import StaleEditError
from accounts.models import TimelineEvent
from handoffs.choices import ContactRole, HandoffStatus, LostReason, Stage, StepOwnerRole
from handoffs.models import Deal, DealContact, Handoff
from handoffs.services import deals as deal_services
from handoffs.services.deals import (
    deal_close,
    deal_contact_add,
    deal_create,
    deal_move_stage,
    deal_reopen,
    deal_update,
    promise_add,
)
from tests.factories import (
    AccountFactory,
    ContactFactory,
    DealFactory,
    PlaybookFactory,
    PlaybookStepFactory,
    give_full_packet,
)

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(datetime.datetime(2025, 3, 10, 12, tzinfo=datetime.UTC))]

TODAY = datetime.date(2025, 3, 10)


def verbs_of(deal):
    return list(TimelineEvent.objects.filter(subject_id=deal.pk).order_by("id").values_list("verb", flat=True))


def new_deal_fields(**overrides):
    fields = {
        "title": "Onboarding platform",
        "amount": Decimal("48000"),
        "currency": "EUR",
        "next_step": "Demo to the ops team",
        "next_step_due": TODAY + datetime.timedelta(days=2),
        "lead_source": "referral",
        "context_origin": "Referred by Globex",
    }
    fields.update(overrides)
    return fields


def test_it_opens_a_deal_owned_by_the_rep_and_records_it(rep):
    # given
    account = AccountFactory(owner=rep)
    # when
    deal = deal_create(actor=rep, account=account, **new_deal_fields())
    # then
    assert (deal.owner, deal.team, deal.stage) == (rep, rep.team, Stage.QUALIFY)
    assert verbs_of(deal) == [EventVerb.DEAL_CREATED, EventVerb.NEXT_STEP_SET]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"next_step": ""}, "next_step"),
        ({"next_step_due": None}, "next_step_due"),
        ({"next_step_due": TODAY - datetime.timedelta(days=1)}, "next_step_due"),
        ({"amount": Decimal("-1")}, "amount"),
        ({"amount": Decimal("1000000000000")}, "amount"),
        ({"currency": "XYZ"}, "currency"),
    ],
)
def test_it_refuses_a_deal_with_bad_input_and_writes_nothing(rep, overrides, field):
    account = AccountFactory(owner=rep)
    with pytest.raises(ValidationError) as error:
        deal_create(actor=rep, account=account, **new_deal_fields(**overrides))
    assert field in error.value.message_dict
    assert not Deal.objects.exists()
    assert not TimelineEvent.objects.exists()


def test_a_new_deal_cannot_start_won(rep):
    with pytest.raises(ValidationError):
        deal_create(actor=rep, account=AccountFactory(owner=rep), **new_deal_fields(stage=Stage.WON))


def test_a_rep_cannot_open_a_deal_on_another_teams_account(rep, outsider_team_rep):
    with pytest.raises(PermissionDenied):
        deal_create(actor=rep, account=AccountFactory(owner=outsider_team_rep), **new_deal_fields())


def test_a_delivery_lead_cannot_open_a_deal(delivery_lead):
    with pytest.raises(PermissionDenied):
        deal_create(actor=delivery_lead, account=AccountFactory(owner=delivery_lead), **new_deal_fields())


def test_editing_the_next_step_records_it_and_tells_reminders_it_is_no_longer_overdue(
    rep, django_capture_on_commit_callbacks, resolved_overdue_items
):
    # given: a deal whose next step is overdue
    deal = DealFactory(owner=rep, next_step_due=TODAY - datetime.timedelta(days=3))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        deal_update(actor=rep, deal=deal, expected_version=1, next_step="Call the CFO", next_step_due=TODAY)
    # then
    deal.refresh_from_db()
    assert (deal.next_step, deal.next_step_due, deal.version) == ("Call the CFO", TODAY, 2)
    assert verbs_of(deal) == [EventVerb.NEXT_STEP_SET]
    assert resolved_overdue_items == [("next_step_overdue", deal.pk)]


def test_of_two_edits_of_a_deal_from_the_same_version_the_second_is_refused(rep):
    # given
    deal = DealFactory(owner=rep, title="Before")
    deal_update(actor=rep, deal=deal, expected_version=1, title="First edit")
    # when
    with pytest.raises(StaleEditError):
        deal_update(actor=rep, deal=deal, expected_version=1, title="Second edit")
    # then
    deal.refresh_from_db()
    assert (deal.title, deal.version) == ("First edit", 2)


def test_a_failed_edit_writes_nothing(rep):
    deal = DealFactory(owner=rep, title="Before")
    with pytest.raises(ValidationError):
        deal_update(actor=rep, deal=deal, expected_version=1, title="After", amount=Decimal("-5"))
    deal.refresh_from_db()
    assert (deal.title, deal.version) == ("Before", 1)
    assert not TimelineEvent.objects.exists()


def test_a_rep_cannot_edit_a_team_mates_deal(rep, other_rep):
    with pytest.raises(PermissionDenied):
        deal_update(actor=rep, deal=DealFactory(owner=other_rep), expected_version=1, title="Mine now")


def test_only_a_manager_gives_a_deal_to_another_rep(rep, other_rep, manager):
    deal = DealFactory(owner=rep)
    with pytest.raises(ValidationError):
        deal_update(actor=rep, deal=deal, expected_version=1, owner=other_rep)
    deal_update(actor=manager, deal=deal, expected_version=1, owner=other_rep)
    deal.refresh_from_db()
    assert deal.owner == other_rep
    assert EventVerb.OWNER_CHANGED in verbs_of(deal)


def test_moving_a_deal_on_the_board_records_the_move(rep):
    deal = DealFactory(owner=rep, stage=Stage.DISCOVER)
    deal_move_stage(actor=rep, deal=deal, stage=Stage.PROPOSE)
    deal.refresh_from_db()
    assert deal.stage == Stage.PROPOSE
    event = TimelineEvent.objects.get(subject_id=deal.pk)
    assert (event.verb, event.data) == (EventVerb.STAGE_MOVED, {"from": "discover", "to": "propose"})


@pytest.mark.parametrize("stage", [Stage.WON, Stage.LOST])
def test_a_plain_stage_move_cannot_close_a_deal(rep, stage):
    deal = DealFactory(owner=rep)
    with pytest.raises(ValidationError):
        deal_move_stage(actor=rep, deal=deal, stage=stage)
    deal.refresh_from_db()
    assert deal.is_open


def test_it_names_a_contact_on_the_deal_with_a_role(rep):
    deal = DealFactory(owner=rep)
    contact = ContactFactory(account=deal.account)
    deal_contact_add(actor=rep, deal=deal, contact=contact, role=ContactRole.DECISION_MAKER)
    assert DealContact.objects.get(deal=deal).role == ContactRole.DECISION_MAKER
    assert verbs_of(deal) == [EventVerb.DEAL_CONTACT_ADDED]


def test_a_contact_of_another_account_cannot_be_named_on_the_deal(rep):
    deal = DealFactory(owner=rep)
    stranger = ContactFactory(account=AccountFactory(owner=rep))
    with pytest.raises(ValidationError) as error:
        deal_contact_add(actor=rep, deal=deal, contact=stranger)
    assert "contact" in error.value.message_dict
    assert not DealContact.objects.exists()


def test_it_records_a_promise(rep):
    deal = DealFactory(owner=rep)
    promise = promise_add(actor=rep, deal=deal, description="Live by 1 June", target_date=datetime.date(2025, 6, 1))
    assert (promise.created_by, promise.status) == (rep, "open")
    assert verbs_of(deal) == [EventVerb.PROMISE_ADDED]


def test_a_won_close_marks_the_deal_won_and_starts_its_hand_off_with_the_playbook_steps(rep):
    # given
    playbook = PlaybookFactory(segment="pilot-programme")
    PlaybookStepFactory(
        playbook=playbook, position=1, title="Countersign", owner_role=StepOwnerRole.SALES, due_offset_days=1
    )
    PlaybookStepFactory(
        playbook=playbook, position=2, title="Kick-off", owner_role=StepOwnerRole.DELIVERY, due_offset_days=7
    )
    deal = give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE, segment="pilot-programme"))
    # when
    deal_close(actor=rep, deal=deal, outcome="won", closed_on=TODAY, final_amount=Decimal("50000"), reason="Best fit")
    # then
    deal.refresh_from_db()
    assert (deal.stage, deal.closed_on, deal.amount, deal.next_step) == (Stage.WON, TODAY, Decimal("50000"), "")
    handoff = Handoff.objects.get(deal=deal)
    assert (handoff.status, handoff.rep) == (HandoffStatus.AWAITING_OWNER, rep)
    steps = {(step.title, step.due_on) for step in handoff.steps.all()}
    assert {
        (step.title, TODAY + datetime.timedelta(days=step.due_offset_days)) for step in playbook.steps.all()
    } <= steps
    assert verbs_of(deal)[:2] == [EventVerb.DEAL_WON, EventVerb.HANDOFF_STARTED]


def test_a_won_close_whose_hand_off_fails_leaves_the_deal_open(rep, monkeypatch):
    # given
    deal = give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE))

    def broken_handoff_start(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(deal_services, "handoff_start", broken_handoff_start)
    # when
    with pytest.raises(RuntimeError):
        deal_close(actor=rep, deal=deal, outcome="won", closed_on=TODAY, final_amount=Decimal("1"), reason="Yes")
    # then
    deal.refresh_from_db()
    assert deal.stage == Stage.NEGOTIATE
    assert not TimelineEvent.objects.exists()


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"outcome": "lost", "lost_reason": ""}, "lost_reason"),
        ({"outcome": "won", "closed_on": None}, "closed_on"),
        ({"outcome": "won", "closed_on": TODAY + datetime.timedelta(days=1)}, "closed_on"),
        ({"outcome": "won", "final_amount": Decimal("-3")}, "final_amount"),
        ({"outcome": "won", "reason": " "}, "reason"),
    ],
)
def test_it_refuses_a_close_with_bad_input(rep, arguments, field):
    deal = DealFactory(owner=rep, stage=Stage.NEGOTIATE)
    values = {"closed_on": TODAY, "final_amount": Decimal("10"), "reason": "Because"} | arguments
    with pytest.raises(ValidationError) as error:
        deal_close(actor=rep, deal=deal, **values)
    assert field in error.value.message_dict
    deal.refresh_from_db()
    assert deal.is_open
    assert not Handoff.objects.exists()


def test_a_lost_close_keeps_the_reason_and_creates_no_hand_off(rep):
    deal = DealFactory(owner=rep, stage=Stage.PROPOSE)
    deal_close(
        actor=rep,
        deal=deal,
        outcome="lost",
        closed_on=TODAY,
        final_amount=Decimal("0"),
        reason="Went with their incumbent",
        lost_reason=LostReason.COMPETITOR,
    )
    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason) == (Stage.LOST, LostReason.COMPETITOR)
    assert not Handoff.objects.exists()
    assert verbs_of(deal) == [EventVerb.DEAL_LOST]


def test_a_closed_deal_cannot_be_closed_twice(rep):
    deal = give_full_packet(DealFactory(owner=rep))
    deal_close(actor=rep, deal=deal, outcome="won", closed_on=TODAY, final_amount=Decimal("1"), reason="Yes")
    with pytest.raises(ValidationError):
        deal_close(actor=rep, deal=deal, outcome="won", closed_on=TODAY, final_amount=Decimal("1"), reason="Yes")
    assert Handoff.objects.count() == 1


def test_a_rep_cannot_reopen_a_closed_deal(rep):
    deal = DealFactory(owner=rep, stage=Stage.PROPOSE)
    deal_close(actor=rep, deal=deal, outcome="lost", closed_on=TODAY, final_amount=0, reason="x", lost_reason="price")
    with pytest.raises(PermissionDenied):
        deal_reopen(actor=rep, deal=deal, reason="They called back")


def test_a_manager_reopens_a_lost_deal_into_the_stage_it_closed_from(rep, manager):
    # given
    deal = DealFactory(owner=rep, stage=Stage.PROPOSE)
    deal_close(actor=rep, deal=deal, outcome="lost", closed_on=TODAY, final_amount=0, reason="x", lost_reason="price")
    # when
    deal_reopen(actor=manager, deal=deal, reason="They called back", next_step="Call them", next_step_due=TODAY)
    # then
    deal.refresh_from_db()
    assert (deal.stage, deal.closed_on, deal.lost_reason, deal.next_step) == (Stage.PROPOSE, None, "", "Call them")
    assert verbs_of(deal)[-2:] == [EventVerb.DEAL_REOPENED, EventVerb.NEXT_STEP_SET]


def test_a_manager_of_another_team_cannot_reopen_the_deal(rep, outsider_team_rep):
    deal = give_full_packet(DealFactory(owner=rep))
    deal_close(actor=rep, deal=deal, outcome="won", closed_on=TODAY, final_amount=1, reason="Yes")
    with pytest.raises(PermissionDenied):
        deal_reopen(actor=outsider_team_rep.team.manager, deal=deal, reason="Mistake")


def test_reopening_a_won_deal_withdraws_its_hand_off_so_a_new_close_starts_a_fresh_one(rep, manager):
    # given
    deal = give_full_packet(DealFactory(owner=rep))
    deal_close(actor=rep, deal=deal, outcome="won", closed_on=TODAY, final_amount=1, reason="Yes")
    # when
    deal_reopen(actor=manager, deal=deal, reason="Contract not signed after all")
    deal_close(actor=rep, deal=deal, outcome="won", closed_on=TODAY, final_amount=2, reason="Signed now")
    # then
    assert Handoff.objects.filter(deal=deal).count() == 1


def test_a_won_deal_whose_hand_off_is_under_way_cannot_be_reopened(rep, manager, delivery_lead):
    # given
    deal = give_full_packet(DealFactory(owner=rep))
    deal_close(actor=rep, deal=deal, outcome="won", closed_on=TODAY, final_amount=1, reason="Yes")
    Handoff.objects.filter(deal=deal).update(status=HandoffStatus.ACCEPTED, delivery_owner=delivery_lead)
    # when
    with pytest.raises(ValidationError) as error:
        deal_reopen(actor=manager, deal=deal, reason="Mistake")
    # then
    assert "under way" in str(error.value)
    deal.refresh_from_db()
    assert deal.stage == Stage.WON
    assert Handoff.objects.get(deal=deal).status == HandoffStatus.ACCEPTED
