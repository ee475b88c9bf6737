"""factory_boy factories for every model. Tests build data with these and change state
through the services, never by hand-setting statuses unless the test is about reading."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Account, Contact, Team, User
from followups.models import CheckIn
from handoffs.choices import ContactRole, HandoffStatus, LeadSource, Stage, StepOwnerRole
from handoffs.models import (
    Deal,
    DealContact,
    Handoff,
    HandoffStep,
    Meeting,
    MeetingAttendee,
    Playbook,
    PlaybookStep,
    Promise,
)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@baton.test")
    role = Role.REP
    team = factory.SubFactory(TeamFactory)
    timezone = "UTC"
    password = factory.PostGenerationMethodCall("set_password", "password")

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save(update_fields=["password"])


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Faker("company")
    domain = factory.Faker("domain_name")
    industry = "Software"
    owner = factory.SubFactory(UserFactory)
    team = factory.LazyAttribute(lambda account: account.owner.team)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    title = "Head of Operations"
    email = factory.Sequence(lambda n: f"contact{n}@customer.test")


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deal

    title = factory.Sequence(lambda n: f"Deal {n}")
    owner = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AccountFactory, owner=factory.SelfAttribute("..owner"))
    team = factory.LazyAttribute(lambda deal: deal.owner.team)
    amount = Decimal("25000.00")
    stage = Stage.DISCOVER
    lead_source = LeadSource.INBOUND
    context_origin = "Found us through a webinar."
    context_needs = "Replace spreadsheets for onboarding."
    next_step = "Send the proposal"
    next_step_due = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=3))
    expected_close_date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=30))


class DealContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DealContact

    deal = factory.SubFactory(DealFactory)
    contact = factory.SubFactory(ContactFactory, account=factory.SelfAttribute("..deal.account"))
    role = ContactRole.CHAMPION


class PromiseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Promise

    deal = factory.SubFactory(DealFactory)
    description = "Live by 1 March"


class PlaybookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Playbook

    name = factory.Sequence(lambda n: f"Playbook {n}")
    checkin_cadence = factory.LazyFunction(lambda: [7, 30, 90])


class PlaybookStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlaybookStep

    playbook = factory.SubFactory(PlaybookFactory)
    position = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Step {n}")
    owner_role = StepOwnerRole.DELIVERY
    due_offset_days = 2


class HandoffFactory(factory.django.DjangoModelFactory):
    """A hand-off row built directly, for read-side tests. State-change tests should
    create hand-offs through deals.deal_close instead."""

    class Meta:
        model = Handoff

    deal = factory.SubFactory(
        DealFactory,
        stage=Stage.WON,
        closed_on=factory.LazyFunction(timezone.localdate),
        next_step="",
        next_step_due=None,
    )
    closed_on = factory.SelfAttribute("deal.closed_on")
    rep = factory.SelfAttribute("deal.owner")
    team = factory.SelfAttribute("deal.team")
    status = HandoffStatus.AWAITING_OWNER


class HandoffStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HandoffStep

    handoff = factory.SubFactory(HandoffFactory)
    position = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Hand-off step {n}")
    owner_role = StepOwnerRole.DELIVERY
    due_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=2))


class MeetingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meeting

    handoff = factory.SubFactory(HandoffFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=2))
    location = "https://meet.example/handoff"
    organizer = factory.SelfAttribute("handoff.rep")


class MeetingAttendeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MeetingAttendee

    meeting = factory.SubFactory(MeetingFactory)


class CheckInFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CheckIn

    handoff = factory.SubFactory(HandoffFactory)
    account = factory.SelfAttribute("handoff.deal.account")
    rep = factory.SelfAttribute("handoff.rep")
    cadence_days = 7
    due_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=7))


def give_full_packet(deal: Deal, *, contacts: int = 2) -> Deal:
    """Give `deal` the full hand-off packet a won close needs under the default gate
    (handoffs.packet): the lead source and every context field filled, `contacts`
    customer contacts with a role on the deal, and "no promises were made" when it lists
    no promise. Arrangement for tests whose subject is not the gate itself."""
    Deal.objects.filter(pk=deal.pk).update(
        lead_source=deal.lead_source or LeadSource.INBOUND,
        context_origin=deal.context_origin or "Found us through a webinar.",
        context_known=deal.context_known or "Saw the demo; knows the pricing.",
        context_talked_to=deal.context_talked_to or "Their COO and the IT lead.",
        context_needs=deal.context_needs or "Replace spreadsheets for onboarding.",
        no_promises_made=not deal.promises.exists(),
    )
    for _ in range(contacts - deal.deal_contacts.count()):
        DealContactFactory(deal=deal)
    deal.refresh_from_db()
    return deal
