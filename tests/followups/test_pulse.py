"""The customer pulse: asked once per logged check-in, answered in one click from a signed
link without login, changeable for a week, opt-out for good, "at risk" and comments
reaching the delivery owner and the rep."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import EventVerb
from accounts.models import OrganisationSettings, TimelineEvent
from followups.choices import MessagePurpose, MessageStatus, NotificationKind, PulseAnswer
from followups.models import CustomerPulse, Notification, OutboxMessage
from followups.rules import RULES, RuleContext
from followups.selectors.pulse import pulse_token
from followups.services.checkins import checkin_log
from followups.services.outbox import outbox_deliver_due, outbox_enqueue
from followups.services.pulse import KIND_CHECKIN, pulse_request
from followups.services.report import PULSE_HEALTH_PENALTY, report_refresh
from handoffs.choices import ContactRole, HandoffStatus
from handoffs.selectors.handoffs import customer_status_token
from tests.factories import CheckInFactory, ContactFactory, DealContactFactory, HandoffFactory, MeetingFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 12, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _pinned():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def accepted_handoff(*, rep, delivery_owner):
    return HandoffFactory(
        deal__owner=rep,
        deal__title="Onboarding platform",
        deal__closed_on=datetime.date(2026, 3, 2),
        status=HandoffStatus.ACCEPTED,
        proposed_owner=delivery_owner,
        delivery_owner=delivery_owner,
    )


def add_contact(handoff, *, role=ContactRole.CHAMPION, **contact_fields):
    contact = ContactFactory(account=handoff.deal.account, **contact_fields)
    DealContactFactory(deal=handoff.deal, contact=contact, role=role)
    return contact


def log(checkin, *, actor):
    return checkin_log(
        actor=actor,
        checkin=checkin,
        channel="call",
        sentiment="happy",
        notes="Onboarding on track.",
        issues_raised="",
        referral_asked=False,
        repeat_business_asked=False,
    )


@pytest.fixture
def handoff(rep, delivery_lead):
    return accepted_handoff(rep=rep, delivery_owner=delivery_lead)


@pytest.fixture
def decision_maker(handoff):
    # Added after a champion: the role, not the order, decides who is asked.
    add_contact(handoff, role=ContactRole.CHAMPION, first_name="Cham", email="cham@customer.test")
    return add_contact(handoff, role=ContactRole.DECISION_MAKER, first_name="Dana", email="dana@customer.test")


@pytest.fixture
def pulse(handoff, decision_maker, rep):
    checkin = CheckInFactory(handoff=handoff)
    log(checkin, actor=rep)
    return CustomerPulse.objects.get(checkin=checkin)


def pulse_rows():
    return OutboxMessage.objects.filter(purpose=MessagePurpose.PULSE)


def answer_url(pulse, answer):
    return reverse("followups:pulse_answer", args=[pulse_token(pulse_id=pulse.pk, contact_id=pulse.contact_id), answer])


def pulse_bells():
    return Notification.objects.filter(kind=NotificationKind.CUSTOMER_PULSE)


# --- asked once ---------------------------------------------------------------------


def test_it_asks_the_decision_maker_once_when_a_checkin_is_logged(handoff, decision_maker, rep):
    # given
    checkin = CheckInFactory(handoff=handoff)
    # when
    log(checkin, actor=rep)
    # then
    pulse = CustomerPulse.objects.get(checkin=checkin)
    assert pulse.contact == decision_maker
    assert pulse.answer == ""
    assert list(pulse_rows().values_list("kind", "item_id", "contact_id")) == [
        (KIND_CHECKIN, checkin.pk, decision_maker.pk)
    ]


def test_asking_again_or_re_enqueueing_doubles_nothing(pulse):
    # when
    again = pulse_request(checkin=pulse.checkin)
    outbox_enqueue(
        purpose=MessagePurpose.PULSE, kind=KIND_CHECKIN, item_id=pulse.checkin_id, recipients=[pulse.contact]
    )
    # then
    assert again is None
    assert CustomerPulse.objects.filter(checkin=pulse.checkin).count() == 1
    assert pulse_rows().count() == 1


def test_a_contact_who_opted_out_is_never_asked(handoff, rep):
    # given
    add_contact(handoff, role=ContactRole.DECISION_MAKER, pulse_opted_out_at=NOW - datetime.timedelta(days=3))
    champion = add_contact(handoff, role=ContactRole.CHAMPION)
    add_contact(handoff, role=ContactRole.USER, email="")  # no address: cannot be asked
    # when
    first = CheckInFactory(handoff=handoff)
    log(first, actor=rep)
    champion.pulse_opted_out_at = NOW
    champion.save(update_fields=["pulse_opted_out_at"])
    second = CheckInFactory(handoff=handoff, cadence_days=30)
    log(second, actor=rep)
    # then
    assert CustomerPulse.objects.get(checkin=first).contact == champion
    assert not CustomerPulse.objects.filter(checkin=second).exists()
    assert pulse_rows().count() == 1


# --- the e-mail and its links ----------------------------------------------------------


def _link(body: str, label: str) -> str:
    match = re.search(rf"^\s*{re.escape(label)}: (http\S+)$", body, re.MULTILINE)
    assert match, body
    return match.group(1).removeprefix("http://testserver")


def test_the_email_comes_from_the_rep_and_one_click_records_the_answer_without_login(pulse, rep, client):
    # when
    result = outbox_deliver_due()
    # then
    assert result.emailed == 1
    [message] = mail.outbox
    assert message.to == [pulse.contact.email]
    assert message.reply_to == [rep.email]
    assert f"{rep} via Baton" in message.from_email
    assert message.subject == "How is it going with Onboarding platform?"
    assert "Rather not be asked again?" in message.body
    assert TimelineEvent.objects.filter(verb=EventVerb.PULSE_SENT, data__pulse_id=pulse.pk).count() == 1
    # when the customer clicks "Going well" (no login)
    response = client.get(_link(message.body, "Going well"))
    # then
    assert response.status_code == 200
    assert "Your answer is recorded" in response.text
    pulse.refresh_from_db()
    assert pulse.answer == PulseAnswer.GOING_WELL
    assert pulse.answered_at == NOW
    assert TimelineEvent.objects.filter(verb=EventVerb.PULSE_ANSWERED, data__pulse_id=pulse.pk).count() == 1
    assert not pulse_bells().exists()  # going well, no comment: nobody is disturbed


def test_the_same_link_twice_records_once_and_rings_each_bell_once(pulse, rep, delivery_lead, client):
    # when
    first = client.get(answer_url(pulse, "at_risk"))
    second = client.get(answer_url(pulse, "at_risk"))
    # then
    assert first.status_code == second.status_code == 200
    assert TimelineEvent.objects.filter(verb=EventVerb.PULSE_ANSWERED).count() == 1
    assert sorted(pulse_bells().values_list("user__username", flat=True)) == sorted(
        [rep.username, delivery_lead.username]
    )
    # and their e-mail copies are in the outbox, one each
    assert OutboxMessage.objects.filter(purpose=MessagePurpose.NOTIFICATION).count() == 2


def test_an_answer_changes_within_a_week_and_is_refused_after(pulse, client, _pinned):
    # given
    client.get(answer_url(pulse, "going_well"))
    # when: six days later, a change of mind
    _pinned.shift(datetime.timedelta(days=6))
    changed = client.get(answer_url(pulse, "some_concerns"))
    # then
    assert changed.status_code == 200
    pulse.refresh_from_db()
    assert (pulse.answer, pulse.answered_at, pulse.changed_at) == (
        PulseAnswer.SOME_CONCERNS,
        NOW,
        NOW + datetime.timedelta(days=6),
    )
    # when: eight days after the first answer
    _pinned.shift(datetime.timedelta(days=2))
    refused = client.get(answer_url(pulse, "at_risk"))
    # then
    assert refused.status_code == 409
    assert "Your answer is already recorded" in refused.text
    pulse.refresh_from_db()
    assert pulse.answer == PulseAnswer.SOME_CONCERNS
    assert TimelineEvent.objects.filter(verb=EventVerb.PULSE_ANSWERED).count() == 2
    # the same answer as recorded is still a calm "thank you", not an error
    assert client.get(answer_url(pulse, "some_concerns")).status_code == 200


def test_a_tampered_link_gets_a_clear_page_and_records_nothing(pulse, client):
    # given
    token = pulse_token(pulse_id=pulse.pk, contact_id=pulse.contact_id)
    payload, _, signature = token.rpartition(":")
    tampered = [
        f"{payload}:{signature[::-1]}",  # the signature altered
        "not-a-token",
        pulse_token(pulse_id=pulse.pk, contact_id=pulse.contact_id + 1000),  # someone else's contact
        customer_status_token(handoff_id=pulse.checkin.handoff_id, contact_id=pulse.contact_id),  # another salt
    ]
    # when
    responses = [client.get(reverse("followups:pulse_answer", args=[bad, "at_risk"])) for bad in tampered]
    # then
    assert [response.status_code for response in responses] == [400, 400, 400, 400]
    assert all("This link is not valid" in response.text for response in responses)
    pulse.refresh_from_db()
    assert pulse.answer == ""
    assert not pulse_bells().exists()


def test_an_unknown_answer_is_a_clear_page(pulse, client):
    token = pulse_token(pulse_id=pulse.pk, contact_id=pulse.contact_id)
    response = client.get(reverse("followups:pulse_answer", args=[token, "delighted"]))
    assert response.status_code == 400
    assert "This link is not valid" in response.text


def test_an_expired_link_gets_a_clear_page_and_records_nothing(pulse, client, _pinned):
    # given: links last pulse_link_days (30)
    url = answer_url(pulse, "at_risk")
    # when
    _pinned.shift(datetime.timedelta(days=29, hours=23))
    just_inside = client.get(reverse("followups:pulse_page", args=[url.split("/")[2]]))
    _pinned.shift(datetime.timedelta(hours=2))
    expired = client.get(url)
    # then
    assert just_inside.status_code == 200
    assert expired.status_code == 410
    assert "This link has expired" in expired.text
    pulse.refresh_from_db()
    assert pulse.answer == ""


# --- comments ---------------------------------------------------------------------------


def test_a_comment_is_saved_and_reaches_the_delivery_owner_and_the_rep(pulse, rep, delivery_lead, client):
    # given
    token = pulse_token(pulse_id=pulse.pk, contact_id=pulse.contact_id)
    client.get(answer_url(pulse, "going_well"))
    # when
    response = client.post(reverse("followups:pulse_comment", args=[token]), {"comment": "  SSO still missing.  "})
    again = client.post(reverse("followups:pulse_comment", args=[token]), {"comment": "SSO still missing."})
    # then
    assert response.status_code == again.status_code == 302
    page = client.get(response["Location"])
    assert "your comment is saved" in page.text
    pulse.refresh_from_db()
    assert pulse.comment == "SSO still missing."
    bells = list(pulse_bells().values_list("user__username", "body"))
    assert sorted(user for user, _ in bells) == sorted([rep.username, delivery_lead.username])
    assert all("SSO still missing." in body for _, body in bells)
    event = TimelineEvent.objects.filter(verb=EventVerb.PULSE_ANSWERED).latest("id")
    assert event.subject_id == pulse.checkin.handoff.deal_id
    assert "SSO still missing." in event.message


# --- opting out ---------------------------------------------------------------------------


def test_opting_out_asks_to_confirm_then_stops_every_later_pulse(pulse, handoff, rep, client):
    # given: a second pulse to the same contact, queued but not sent yet
    token = pulse_token(pulse_id=pulse.pk, contact_id=pulse.contact_id)
    url = reverse("followups:pulse_opt_out", args=[token])
    later = CheckInFactory(handoff=handoff, cadence_days=30)
    log(later, actor=rep)
    assert CustomerPulse.objects.get(checkin=later).contact == pulse.contact
    # when: a mail scanner (or the customer) opens the link
    confirm = client.get(url)
    # then: nothing changes until the button is pressed
    pulse.contact.refresh_from_db()
    assert confirm.status_code == 200
    assert "Yes, stop asking me" in confirm.text
    assert pulse.contact.pulse_opted_out_at is None
    # when
    done = client.post(url)
    # then
    pulse.contact.refresh_from_db()
    assert done.status_code == 200
    assert "You will not be asked again" in done.text
    assert pulse.contact.pulse_opted_out_at == NOW
    # the queued pulses are skipped, not sent
    outbox_deliver_due()
    assert mail.outbox == []
    assert set(pulse_rows().values_list("status", flat=True)) == {MessageStatus.CANCELLED}
    # the answer links now say so, and record nothing
    refused = client.get(answer_url(pulse, "at_risk"))
    assert refused.status_code == 410
    assert "You asked not to receive these questions" in refused.text
    pulse.refresh_from_db()
    assert pulse.answer == ""
    # and the next check-in asks the next contact in line, not them
    third = CheckInFactory(handoff=handoff, cadence_days=90)
    log(third, actor=rep)
    assert CustomerPulse.objects.get(checkin=third).contact.first_name == "Cham"


def test_the_pulse_pages_need_no_javascript(pulse, client):
    token = pulse_token(pulse_id=pulse.pk, contact_id=pulse.contact_id)
    pages = [
        client.get(reverse("followups:pulse_page", args=[token])),
        client.get(answer_url(pulse, "some_concerns")),
        client.get(reverse("followups:pulse_opt_out", args=[token])),
    ]
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert all("<script" not in page.text for page in pages)
    assert all(page["Referrer-Policy"] == "no-referrer" for page in pages)


# --- the drop rule: "at risk" with no follow-up ------------------------------------------


def at_risk_pulse(handoff, *, said_at, rep):
    """A pulse answered "at risk" at `said_at`, on a check-in done just before."""
    checkin = CheckInFactory(
        handoff=handoff, cadence_days=0, status="done", done_at=said_at - datetime.timedelta(hours=2)
    )
    contact = add_contact(handoff)
    return CustomerPulse.objects.create(
        checkin=checkin, contact=contact, account=handoff.deal.account, answer="at_risk", answered_at=said_at
    )


def pulse_drops():
    return {row["drop_subject_id"]: row for row in RULES["pulse_at_risk"].drops(RuleContext.now())}


def test_the_drop_rule_fires_the_day_after_the_followup_days_and_not_before(handoff, rep, _pinned):
    # given: at risk said on 12 March; pulse_followup_days is 3
    assert OrganisationSettings.load().pulse_followup_days == 3
    pulse = at_risk_pulse(handoff, said_at=NOW, rep=rep)
    # when / then: on the 15th (three days after) it is not dropped yet
    # (the organisation's days: its TIME_ZONE, whatever zone the server runs in)
    site = timezone.get_default_timezone()
    _pinned.move_to(datetime.datetime(2026, 3, 15, 23, 0, tzinfo=site))
    assert pulse_drops() == {}
    # on the 16th it is, dated that day, open, on the rep and the delivery owner
    _pinned.move_to(datetime.datetime(2026, 3, 16, 0, 30, tzinfo=site))
    drop = pulse_drops()[pulse.pk]
    assert drop["drop_date"] == datetime.date(2026, 3, 16)
    assert drop["drop_is_open"] is True
    assert (drop["drop_rep_id"], drop["drop_delivery_owner_id"]) == (handoff.rep_id, handoff.delivery_owner_id)
    assert drop["drop_account_id"] == handoff.deal.account_id


def test_a_checkin_logged_within_the_followup_days_prevents_the_drop(handoff, rep, _pinned):
    # given
    pulse = at_risk_pulse(handoff, said_at=NOW, rep=rep)
    other = accepted_handoff(rep=rep, delivery_owner=handoff.delivery_owner)
    late_pulse = at_risk_pulse(other, said_at=NOW, rep=rep)
    # a follow-up on the last allowed day for the first, a day too late for the second
    CheckInFactory(handoff=handoff, cadence_days=30, status="done", done_at=NOW + datetime.timedelta(days=3))
    CheckInFactory(handoff=other, cadence_days=30, status="done", done_at=NOW + datetime.timedelta(days=4))
    # when
    _pinned.move_to(NOW + datetime.timedelta(days=10))
    found = pulse_drops()
    # then: the late follow-up still counts as a drop, closed
    assert pulse.pk not in found
    assert found[late_pulse.pk]["drop_is_open"] is False


def test_a_meeting_held_counts_as_a_followup_and_a_later_calm_answer_replaces_at_risk(handoff, rep, _pinned):
    # given
    met = at_risk_pulse(handoff, said_at=NOW, rep=rep)
    MeetingFactory(handoff=handoff, status="held", held_at=NOW + datetime.timedelta(days=1))
    other = accepted_handoff(rep=rep, delivery_owner=handoff.delivery_owner)
    superseded = at_risk_pulse(other, said_at=NOW, rep=rep)
    calm = at_risk_pulse(other, said_at=NOW + datetime.timedelta(days=5), rep=rep)
    calm.answer = "going_well"
    calm.save(update_fields=["answer"])
    # when
    _pinned.move_to(NOW + datetime.timedelta(days=10))
    # then
    assert pulse_drops() == {}
    assert {met.pk, superseded.pk}.isdisjoint(pulse_drops())


# --- health, report, dashboard, account list ----------------------------------------------


def test_the_latest_pulse_lowers_the_accounts_health_by_its_weight(pulse, client):
    # given
    account = pulse.account
    report_refresh()
    account.refresh_from_db()
    before = account.health_score
    # when
    client.get(answer_url(pulse, "at_risk"))
    report_refresh()
    account.refresh_from_db()
    at_risk = account.health_score
    client.get(answer_url(pulse, "some_concerns"))
    report_refresh()
    account.refresh_from_db()
    # then
    assert before - at_risk == PULSE_HEALTH_PENALTY[PulseAnswer.AT_RISK] == 15
    assert before - account.health_score == PULSE_HEALTH_PENALTY[PulseAnswer.SOME_CONCERNS] == 5


def test_the_dashboard_lists_accounts_whose_customers_said_at_risk(pulse, manager, handoff, rep, client_for):
    # given: one account at risk, another whose customer said going well
    calm_handoff = accepted_handoff(rep=rep, delivery_owner=handoff.delivery_owner)
    add_contact(calm_handoff, role=ContactRole.DECISION_MAKER)
    calm_checkin = CheckInFactory(handoff=calm_handoff)
    log(calm_checkin, actor=rep)
    calm = CustomerPulse.objects.get(checkin=calm_checkin)
    client = client_for(manager)
    client.get(answer_url(pulse, "at_risk"))
    client.get(answer_url(calm, "going_well"))
    # when
    response = client.get(reverse("followups:dashboard"))
    # then
    at_risk = [p.account for p in response.context["dashboard"].pulse_at_risk]
    assert at_risk == [pulse.account]
    assert pulse.account.name in response.text


def test_the_report_counts_the_answers_of_the_period_per_rep(pulse, manager, rep, client_for):
    # given
    client = client_for(manager)
    client.get(answer_url(pulse, "at_risk"))
    # when
    response = client.get(reverse("followups:report"), {"period": "month"})
    # then
    summary = response.context["pulse"]
    assert summary.totals == {"going_well": 0, "some_concerns": 0, "at_risk": 1}
    assert [(row["name"], row["counts"]["at_risk"]) for row in summary.by_rep] == [
        (f"{rep.first_name} {rep.last_name}".strip(), 1)
    ]
    assert 'data-testid="pulse-total-at_risk">1<' in response.text


def _accounts_with_pulses(count, *, rep, delivery_owner):
    for number in range(count):
        handoff = accepted_handoff(rep=rep, delivery_owner=delivery_owner)
        add_contact(handoff, role=ContactRole.DECISION_MAKER)
        checkin = CheckInFactory(handoff=handoff)
        log(checkin, actor=rep)
        answer = PulseAnswer.values[number % 3]
        CustomerPulse.objects.filter(checkin=checkin).update(answer=answer, answered_at=NOW)


def test_the_account_list_shows_the_latest_pulse_in_a_constant_number_of_queries(
    rep, delivery_lead, client_for, django_assert_num_queries
):
    # given
    client = client_for(rep)
    _accounts_with_pulses(2, rep=rep, delivery_owner=delivery_lead)
    with CaptureQueriesContext(connection) as small:
        first = client.get(reverse("handoffs:account_list"))
    _accounts_with_pulses(6, rep=rep, delivery_owner=delivery_lead)
    # when / then
    with django_assert_num_queries(len(small.captured_queries)):
        second = client.get(reverse("handoffs:account_list"))
    assert first.text.count('data-testid="pulse-') == 2
    assert second.text.count('data-testid="pulse-') == 8
    assert 'data-testid="pulse-at_risk"' in second.text


def test_the_account_page_shows_the_latest_pulse(pulse, rep, client_for):
    client = client_for(rep)
    client.get(answer_url(pulse, "some_concerns"))
    response = client.get(reverse("handoffs:account_detail", args=[pulse.account_id]))
    assert 'data-testid="account-pulse"' in response.text
    assert "Some concerns" in response.text


def test_after_opting_out_even_the_recorded_answer_gets_the_opted_out_page(pulse, client):
    # given
    token = pulse_token(pulse_id=pulse.pk, contact_id=pulse.contact_id)
    client.get(answer_url(pulse, "going_well"))
    client.post(reverse("followups:pulse_opt_out", args=[token]))
    # when
    same = client.get(answer_url(pulse, "going_well"))
    comment = client.post(reverse("followups:pulse_comment", args=[token]), {"comment": "Hello"})
    # then
    assert same.status_code == comment.status_code == 410
    pulse.refresh_from_db()
    assert (pulse.answer, pulse.comment) == (PulseAnswer.GOING_WELL, "")
