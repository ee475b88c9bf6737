"""Demo data of the dropped-baton report, for `manage.py seed_demo` (after the other demos).

A handful of customers, each of whose stories drops a baton of a different kind, spread
over the last weeks so that every drop type of the report and its trend show on a fresh
demo. Each layer writes its part, directly and back-dated, as history would have left
it: the customers (accounts.demo), their deals and hand-offs (handoffs.demo), and here
the check-ins and a customer's pulse; then the report's snapshot and the accounts' health are computed once.
"""

from __future__ import annotations

import datetime

from accounts.models import User
from followups.choices import Channel, CheckInStatus, PulseAnswer, Sentiment
from followups.models import CheckIn, CustomerPulse
from followups.services.report import report_refresh
from handoffs.demo import seed_dropped_baton_stories, utc_at


def seed_report_demo(people: dict[str, User]) -> None:
    """One customer story per kind of dropped baton (idempotent by account name)."""
    stories = seed_dropped_baton_stories(people)
    if stories is None:
        return
    day = datetime.timedelta(days=1)

    # Initech: the first check-in done, the 30-day one missed and nothing since
    # (missed_check_in, ghosted).
    initech = stories.initech
    first_checkin = CheckIn.objects.create(
        handoff=initech,
        account=initech.deal.account,
        rep=initech.rep,
        cadence_days=7,
        due_on=initech.closed_on + 7 * day,
        status=CheckInStatus.DONE,
        done_at=utc_at(initech.closed_on + 8 * day),
        channel=Channel.CALL,
        sentiment=Sentiment.NEUTRAL,
    )
    CheckIn.objects.create(
        handoff=initech,
        account=initech.deal.account,
        rep=initech.rep,
        cadence_days=30,
        due_on=initech.closed_on + 30 * day,
    )
    # Its customer answered the pulse "at risk" the next day, and nobody followed up
    # (pulse_at_risk).
    initech_contact = initech.deal.deal_contacts.select_related("contact").order_by("id").first().contact
    CustomerPulse.objects.create(
        checkin=first_checkin,
        contact=initech_contact,
        account=initech.deal.account,
        answer=PulseAnswer.AT_RISK,
        comment="The data import is still not done; go-live is slipping.",
        answered_at=utc_at(initech.closed_on + 9 * day),
    )

    # Wayne Foods: the first check-in, never logged.
    wayne = stories.wayne
    CheckIn.objects.create(
        handoff=wayne, account=wayne.deal.account, rep=wayne.rep, cadence_days=7, due_on=wayne.closed_on + 7 * day
    )

    # Acme Robotics, done right: checked in on the day.
    acme = stories.acme
    CheckIn.objects.create(
        handoff=acme,
        account=acme.deal.account,
        rep=acme.rep,
        cadence_days=7,
        due_on=acme.closed_on + 7 * day,
        status=CheckInStatus.DONE,
        done_at=utc_at(acme.closed_on + 7 * day),
        channel=Channel.MEETING,
        sentiment=Sentiment.HAPPY,
    )

    report_refresh()
