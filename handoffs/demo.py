"""Demo pipeline: ~10 customer accounts with their contacts and ~30 deals in every
stage, built through the services so that the timelines read as they would in use.

Called by `manage.py seed_demo` with the people of accounts.demo.seed_people().
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.models import Account, User
from accounts.services import account_create, contact_create
from handoffs.choices import ContactRole, LeadSource, LostReason, Stage
from handoffs.models import Deal
from handoffs.services.deals import deal_close, deal_contact_add, deal_create, deal_move_stage, promise_add

# (name, domain, industry, size, owner username, contacts: (first, last, title))
DEMO_ACCOUNTS = [
    (
        "Northwind Logistics",
        "northwind.example",
        "Logistics",
        "251-1000",
        "rita",
        [("Hana", "Ito", "COO"), ("Marc", "Dubois", "Head of IT"), ("Priya", "Shah", "Finance director")],
    ),
    (
        "Globex Retail",
        "globex.example",
        "Retail",
        "1000+",
        "rita",
        [("Tom", "Reyes", "VP Operations"), ("Lena", "Fischer", "Store systems lead")],
    ),
    (
        "Initech Health",
        "initech.example",
        "Healthcare",
        "51-250",
        "rita",
        [("Omar", "Haddad", "CEO"), ("Julia", "Costa", "Practice manager")],
    ),
    (
        "Umbrella Foods",
        "umbrella.example",
        "Food & beverage",
        "251-1000",
        "rita",
        [("Grace", "Lee", "Procurement"), ("Ivan", "Petrov", "Plant manager")],
    ),
    (
        "Stark Engineering",
        "stark.example",
        "Manufacturing",
        "1000+",
        "rita",
        [("Nora", "Berg", "CTO"), ("Ravi", "Kumar", "Programme manager"), ("Ella", "Moss", "Controller")],
    ),
    (
        "Wayne Property",
        "wayne.example",
        "Real estate",
        "51-250",
        "sam",
        [("Ben", "Ortiz", "Managing director"), ("Sofia", "Rossi", "Office manager")],
    ),
    ("Acme Tooling", "acme.example", "Manufacturing", "11-50", "sam", [("Kai", "Wong", "Owner")]),
    (
        "Soylent Labs",
        "soylent.example",
        "Biotech",
        "51-250",
        "sam",
        [("Maya", "Cohen", "Head of research"), ("Leo", "Novak", "IT manager")],
    ),
    (
        "Hooli Media",
        "hooli.example",
        "Media",
        "251-1000",
        "sam",
        [("Zoe", "Martin", "CMO"), ("Adam", "Kovacs", "Finance lead"), ("Iris", "Bauer", "Editor in chief")],
    ),
    (
        "Vandelay Imports",
        "vandelay.example",
        "Wholesale",
        "11-50",
        "sam",
        [("Art", "Vandelay", "Founder"), ("Rosa", "Diaz", "Operations")],
    ),
]

# (account index, title, amount, stage, next step due in days (negative: overdue),
#  expected close in days, number of contacts on the deal, promises)
DEMO_DEALS = [
    (
        0,
        "Fleet tracking roll-out",
        84000,
        Stage.NEGOTIATE,
        2,
        12,
        3,
        ["Live in 3 depots by 1 June", "Weekly status call"],
    ),
    (0, "Driver app pilot", 12000, Stage.DISCOVER, -4, 40, 1, []),
    (0, "Warehouse scanners", 36000, Stage.WON, None, None, 2, ["On-site training for 20 staff"]),
    (1, "Store inventory sync", 150000, Stage.PROPOSE, 5, 20, 1, ["Integration with their POS"]),
    (1, "Loyalty analytics", 48000, Stage.QUALIFY, 1, 75, 1, []),
    (1, "Returns portal", 22000, Stage.LOST, None, None, 1, []),
    (2, "Patient intake forms", 18000, Stage.NEGOTIATE, -2, 5, 1, ["HIPAA-ready hosting"]),
    (2, "Scheduling module", 9500, Stage.QUALIFY, 3, 60, 1, []),
    (2, "Telehealth add-on", 14000, Stage.WON, None, None, 2, ["Live by the end of the quarter", "SSO included"]),
    (3, "Cold-chain monitoring", 67000, Stage.PROPOSE, 0, 15, 2, ["Alerts by SMS"]),
    (3, "Supplier portal", 41000, Stage.DISCOVER, 6, 50, 1, []),
    (3, "Quality audit tool", 16000, Stage.LOST, None, None, 1, []),
    (4, "Plant maintenance suite", 230000, Stage.NEGOTIATE, 4, 18, 3, ["Dedicated delivery manager", "99.9% uptime"]),
    (4, "Engineering change control", 95000, Stage.PROPOSE, -7, 10, 1, []),
    (4, "Spare parts forecasting", 58000, Stage.WON, None, None, 3, ["Forecast accuracy report monthly"]),
    (5, "Tenant portal", 27000, Stage.DISCOVER, 2, 45, 1, []),
    (5, "Facilities ticketing", 19000, Stage.PROPOSE, 8, 25, 2, ["Mobile app for caretakers"]),
    (5, "Lease analytics", 11000, Stage.LOST, None, None, 1, []),
    (6, "Workshop scheduling", 7000, Stage.QUALIFY, -1, 30, 1, []),
    (6, "Tool tracking tags", 5200, Stage.NEGOTIATE, 3, 8, 1, ["Tags delivered within 2 weeks"]),
    (7, "Lab notebook migration", 62000, Stage.PROPOSE, 4, 22, 2, ["Data migrated without downtime"]),
    (7, "Sample inventory", 23000, Stage.DISCOVER, -3, 55, 1, []),
    (7, "Compliance reporting", 31000, Stage.WON, None, None, 2, ["Audit trail export"]),
    (8, "Newsroom planning board", 44000, Stage.NEGOTIATE, 1, 9, 3, ["Training for 40 editors"]),
    (8, "Ad sales CRM sync", 38000, Stage.QUALIFY, 5, 80, 1, []),
    (8, "Archive digitisation", 120000, Stage.LOST, None, None, 2, []),
    (9, "Import tracking", 15000, Stage.PROPOSE, -5, 14, 1, []),
    (9, "Customs paperwork automation", 26000, Stage.DISCOVER, 7, 35, 2, []),
    (9, "Latex supplier portal", 8000, Stage.WON, None, None, 1, ["Go-live before the trade fair"]),
    (6, "Second site roll-out", 9000, Stage.QUALIFY, 10, 90, 1, []),
]

LEAD_SOURCES = [LeadSource.INBOUND, LeadSource.REFERRAL, LeadSource.OUTBOUND, LeadSource.EVENT, LeadSource.PARTNER]
ROLES = [ContactRole.DECISION_MAKER, ContactRole.CHAMPION, ContactRole.FINANCE, ContactRole.USER]
LOST_REASONS = [LostReason.PRICE, LostReason.COMPETITOR, LostReason.NO_DECISION, LostReason.TIMING]
OPEN_PATH = [Stage.QUALIFY, Stage.DISCOVER, Stage.PROPOSE, Stage.NEGOTIATE]


def seed_handoffs_demo(people: dict[str, User]) -> None:
    """Create the demo accounts, contacts and deals (idempotent: skipped if accounts exist)."""
    if Account.objects.exists():
        return
    today = timezone.localdate()
    accounts = []
    for name, domain, industry, size, owner_name, contacts in DEMO_ACCOUNTS:
        owner = people[owner_name]
        account = account_create(actor=owner, name=name, domain=domain, industry=industry, size=size)
        for first, last, title in contacts:
            contact_create(
                actor=owner,
                account=account,
                first_name=first,
                last_name=last,
                title=title,
                email=f"{first.lower()}.{last.lower()}@{domain}",
                phone="+44 20 7946 0" + str(100 + len(accounts) * 10 + len(first))[-3:],
            )
        accounts.append(account)

    overdue: dict[int, int] = {}
    for position, (index, title, amount, stage, due_in, close_in, contact_count, promises) in enumerate(DEMO_DEALS):
        account = accounts[index]
        owner = account.owner
        closed = stage in (Stage.WON, Stage.LOST)
        has_context = not (stage == Stage.WON and position % 3 == 2)  # a few won deals lack context on purpose
        deal = deal_create(
            actor=owner,
            account=account,
            title=title,
            amount=Decimal(amount),
            currency="GBP" if owner.username == "sam" else "EUR",
            expected_close_date=today + datetime.timedelta(days=close_in if close_in is not None else 10),
            lead_source=LEAD_SOURCES[position % len(LEAD_SOURCES)] if has_context else "",
            context_origin=f"Met {account.name} at a partner event." if has_context else "",
            context_known="Saw the demo and the pricing page; knows the onboarding takes four weeks."
            if has_context
            else "",
            context_talked_to="Spoke with our solutions engineer twice." if has_context else "",
            context_needs=f"Replace spreadsheets for {title.lower()}." if has_context else "",
            next_step="Send the proposal" if not closed else "Final call with the decision maker",
            next_step_due=today + datetime.timedelta(days=max(due_in or 0, 0) + 1),
        )
        for contact, role in zip(account.contacts.order_by("pk")[:contact_count], ROLES, strict=False):
            deal_contact_add(actor=owner, deal=deal, contact=contact, role=role)
        for number, promise in enumerate(promises):
            promise_add(
                actor=owner,
                deal=deal,
                description=promise,
                target_date=today + datetime.timedelta(days=30 * (number + 1)) if number == 0 else None,
            )
        target = Stage.NEGOTIATE if closed else stage
        for next_stage in OPEN_PATH[1 : OPEN_PATH.index(target) + 1]:
            deal = deal_move_stage(actor=owner, deal=deal, stage=next_stage)
        if stage == Stage.WON:
            deal_close(
                actor=owner,
                deal=deal,
                outcome="won",
                closed_on=today - datetime.timedelta(days=2 + position % 9),
                final_amount=Decimal(amount),
                reason="Best fit for their process; strong champion.",
            )
        elif stage == Stage.LOST:
            deal_close(
                actor=owner,
                deal=deal,
                outcome="lost",
                closed_on=today - datetime.timedelta(days=3 + position % 20),
                final_amount=Decimal(0),
                reason="They chose to wait a year.",
                lost_reason=LOST_REASONS[position % len(LOST_REASONS)],
            )
        elif due_in is not None and due_in < 0:
            overdue[deal.pk] = due_in
    # Some next steps went overdue "before today": the services refuse a past due date
    # on save, so the demo ages them directly, as the passing days would have.
    for deal_id, due_in in overdue.items():
        Deal.objects.filter(pk=deal_id).update(next_step_due=today + datetime.timedelta(days=due_in))
