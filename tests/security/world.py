"""One world for the access matrix and the form fuzz (issue 15): two sales teams with
their managers and reps, a delivery team, and one of every object a URL can name, all
belonging to the Sales team's rep ("owner") so each column of the matrix is a relation to
that rep: themselves, a teammate, their manager, the other team's rep and manager, the
hand-off's delivery lead, an admin, nobody logged in."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.choices import Role
from accounts.models import OrganisationSettings, User
from accounts.security.throttle import throttles_reset
from accounts.services_api import api_token_create
from followups.choices import MessageStatus, PulseAnswer, ReminderKind
from followups.models import CustomerPulse, Notification, OutboxMessage, WebhookEndpoint
from followups.rules import DROP_CODES
from followups.selectors.pulse import pulse_token
from followups.services.webhooks import webhook_send_test
from handoffs.choices import ContactRole
from handoffs.imports.services import import_upload
from handoffs.inbound.services import inbound_source_create
from handoffs.models import InboundDelivery
from handoffs.selectors.handoffs import customer_status_token
from handoffs.services.handoffs import handoff_propose_owner
from tests.factories import (
    AccountFactory,
    CheckInFactory,
    ContactFactory,
    DealContactFactory,
    DealFactory,
    HandoffStepFactory,
    PlaybookFactory,
    PlaybookStepFactory,
    PromiseFactory,
    TeamFactory,
    UserFactory,
)
from tests.handoffs.handoff_builders import scheduled_meeting, won_handoff

# The columns of the matrix, in order: how each user relates to the owner's records.
PEOPLE = (
    "owner",
    "teammate",
    "team_manager",
    "other_rep",
    "other_manager",
    "delivery_lead",
    "admin",
    "anonymous",
)

IMPORT_CSV = (
    b"Deal Name,Company,Amount,Deal Stage,Close Date,Deal Owner\nRollout,Acme,1000,Discover,2030-01-31,rep@baton.test\n"
)


@dataclass
class World:
    """The people (by column name) and the objects, by the names the matrix rows use."""

    people: dict[str, User | None] = field(default_factory=dict)
    objects: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.objects[name]


def _person(username: str, role: str, team, *, manages: bool = False, **extra) -> User:
    user = UserFactory(username=username, role=role, team=team, **extra)
    if manages:
        team.manager = user
        team.save(update_fields=["manager"])
    return user


@contextmanager
def rolled_back_world() -> Iterator[World]:
    """The world, in a transaction rolled back when the block ends; the rate limits'
    counters (in the cache, outside the transaction) are forgotten before and after, so
    that what a module posts cannot limit the tests after it."""
    throttles_reset()
    try:
        with transaction.atomic():
            yield build_world()
            transaction.set_rollback(True)
    finally:
        throttles_reset()


def build_world() -> World:
    """Build the world. Everything goes through the factories and the services the other
    tests use, so the objects are in the states the pages expect."""
    # The organisation's settings row is made on first read: make it now, so that no
    # request of the matrix or the fuzz is seen writing it.
    OrganisationSettings.load()
    sales, other_sales, delivery = (
        TeamFactory(name="Sales"),
        TeamFactory(name="Other sales"),
        TeamFactory(name="Delivery"),
    )
    team_manager = _person("manager", Role.MANAGER, sales, manages=True)
    owner = _person("rep", Role.REP, sales)
    teammate = _person("teammate", Role.REP, sales)
    other_manager = _person("other_manager", Role.MANAGER, other_sales, manages=True)
    other_rep = _person("other_rep", Role.REP, other_sales)
    delivery_manager = _person("delivery_manager", Role.MANAGER, delivery, manages=True)
    delivery_lead = _person("delivery", Role.DELIVERY, delivery)
    admin = _person("admin", Role.ADMIN, sales, is_staff=True, is_superuser=True)

    account = AccountFactory(owner=owner)
    contact = ContactFactory(account=account)
    deal = DealFactory(owner=owner, account=account)
    DealContactFactory(deal=deal, contact=contact)
    open_promise = PromiseFactory(deal=deal)

    meeting = scheduled_meeting(rep=owner, manager=team_manager, lead=delivery_lead)
    handoff = meeting.handoff
    won_deal = handoff.deal
    step = handoff.steps.order_by("position").first() or HandoffStepFactory(handoff=handoff)
    promise = won_deal.promises.order_by("pk").first()
    decision_maker = ContactFactory(account=won_deal.account)
    DealContactFactory(deal=won_deal, contact=decision_maker, role=ContactRole.DECISION_MAKER)
    checkin = CheckInFactory(handoff=handoff)
    # A second won deal of the owner's, proposed to the delivery lead and not yet answered.
    proposed_handoff = handoff_propose_owner(actor=team_manager, handoff=won_handoff(rep=owner), owner=delivery_lead)
    pulse = CustomerPulse.objects.create(checkin=checkin, contact=decision_maker, account=won_deal.account)

    playbook = PlaybookFactory()
    PlaybookStepFactory(playbook=playbook)
    import_job = import_upload(
        actor=team_manager, uploaded_file=SimpleUploadedFile("deals.csv", IMPORT_CSV, content_type="text/csv")
    )
    source = inbound_source_create(
        actor=admin, name="Generic main", slug="generic-main", kind="generic", default_owner=owner
    )
    inbound_delivery = InboundDelivery.objects.create(
        source=source, received_at=timezone.now(), raw_body="{}", signature_ok=True, outcome="rejected", status_code=422
    )
    webhook = WebhookEndpoint.objects.create(
        name="Ops channel", url="https://hooks.example/ops", format="slack", events=["deal.won"]
    )
    webhook_delivery = webhook_send_test(actor=admin, endpoint=webhook)
    OutboxMessage.objects.filter(pk=webhook_delivery.pk).update(status=MessageStatus.SENT)
    failed_reminder = OutboxMessage.objects.create(
        purpose="reminder",
        kind=ReminderKind.STEP_OVERDUE,
        item_id=step.pk,
        version=1,
        recipient=owner,
        recipient_key=f"user:{owner.pk}",
        first_due_at=timezone.now() - datetime.timedelta(hours=1),
        send_after=timezone.now() - datetime.timedelta(hours=1),
        status=MessageStatus.FAILED,
        attempts=6,
        last_error="SMTPDataError",
    )
    notification = Notification.objects.create(user=owner, kind=ReminderKind.STEP_OVERDUE, title="A step is overdue")
    api_token = api_token_create(user=owner, name="HubSpot sync").token

    people = {
        "owner": owner,
        "teammate": teammate,
        "team_manager": team_manager,
        "other_rep": other_rep,
        "other_manager": other_manager,
        "delivery_lead": delivery_lead,
        "admin": admin,
        "anonymous": None,
    }
    objects = {
        "account": account,
        "contact": contact,
        "deal": deal,
        "open_promise": open_promise,
        "won_deal": won_deal,
        "handoff": handoff,
        "proposed_handoff": proposed_handoff,
        "step": step,
        "meeting": meeting,
        "promise": promise,
        "checkin": checkin,
        "pulse": pulse,
        "pulse_token": pulse_token(pulse_id=pulse.pk, contact_id=decision_maker.pk),
        "status_token": customer_status_token(
            handoff_id=handoff.pk, contact_id=won_deal.deal_contacts.order_by("pk").first().contact_id
        ),
        "calendar_token": owner.feed_token,
        "playbook": playbook,
        "import_job": import_job,
        "inbound_source": source,
        "inbound_delivery": inbound_delivery,
        "webhook": webhook,
        "webhook_delivery": webhook_delivery,
        "outbox_message": failed_reminder,
        "notification": notification,
        "api_token": api_token,
        "owner_user": owner,
        "sales_team": sales,
        "status_contact": won_deal.deal_contacts.order_by("pk").first().contact,
        "teammate_user": teammate,
        "delivery_manager": delivery_manager,
        "reset_uid": urlsafe_base64_encode(force_bytes(owner.pk)),
        "reset_token": default_token_generator.make_token(owner),
        "set_password": "set-password",  # Django's token in the URL once it is in the session
        "inbound_slug": source.slug,
        "drop_code": DROP_CODES[0],
        "pulse_answer": PulseAnswer.GOING_WELL.value,
    }
    return World(people=people, objects=objects)
