"""Each kind of inbound payload read into one InboundDeal (README "Closes from your CRM").

A mapper never writes: it reads the decoded JSON and returns an InboundDeal, or raises
MappingError with every problem it found, keyed by where it is in the payload
("properties.amount"). Problems that do not stop a close (an invalid contact e-mail, a
contact with no name) are dropped with a note, kept on the delivery's reason.

- HubSpot workflow webhook ("Send a webhook" with the deal's properties, or a custom
  code action posting the same JSON): `properties` (plain values or HubSpot's
  {"value": …} objects) and `associations` {company, contacts}.
- Salesforce flow HTTP callout: the Opportunity's fields (optionally wrapped in
  {"Opportunity": …}), Owner.Email, Account {Id, Name, Website},
  OpportunityContactRoles [{Role, Contact {Id, Email, FirstName, LastName, Title}}].
- Generic JSON: {"deal": …, "account": …, "contacts": […]}, strict: unknown keys refused.

The hand-off packet may come along: custom properties baton_lead_source,
baton_context_origin / _known / _talked_to / _needs, baton_promises (one per line),
baton_no_promises (HubSpot; Salesforce the same names with __c, e.g.
Baton_Context_Origin__c; generic: lead_source, context {…}, promises […],
no_promises_made).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from handoffs.choices import ContactRole, Currency, InboundKind, LeadSource, Stage


class MappingError(Exception):
    """The payload cannot become a close: `errors` says why, by place in the payload."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return " ".join(f"{place}: {' '.join(messages)}" for place, messages in self.errors.items())


@dataclass(frozen=True)
class InboundContact:
    """A customer contact of the deal, as the CRM names it."""

    external_id: str
    first_name: str
    last_name: str
    email: str
    title: str
    role: str


@dataclass(frozen=True)
class InboundPromise:
    description: str
    target_date: datetime.date | None = None


@dataclass(frozen=True)
class InboundDeal:
    """One deal as the CRM sends it, in Baton's terms. `won`: log the won close;
    `lost`: the CRM lost it (Baton ignores it); neither: an open deal in `stage`."""

    external_id: str
    title: str
    amount: Decimal
    currency: str
    won: bool
    lost: bool
    stage: str
    closed_on: datetime.date | None
    close_reason: str
    owner_email: str
    account_external_id: str
    account_name: str
    account_domain: str
    contacts: tuple[InboundContact, ...] = ()
    lead_source: str = ""
    context: dict[str, str] = field(default_factory=dict)
    promises: tuple[InboundPromise, ...] = ()
    no_promises_made: bool = False
    next_step: str = ""
    next_step_due: datetime.date | None = None
    expected_close_date: datetime.date | None = None
    notes: tuple[str, ...] = ()


CONTEXT_KEYS = {
    "origin": "context_origin",
    "known": "context_known",
    "talked_to": "context_talked_to",
    "needs": "context_needs",
}

# HubSpot's default sales pipeline (dealstage internal values); Baton's own stage values
# are accepted too, for custom pipelines whose workflow sends them.
HUBSPOT_STAGES = {
    "appointmentscheduled": Stage.QUALIFY,
    "qualifiedtobuy": Stage.QUALIFY,
    "presentationscheduled": Stage.DISCOVER,
    "decisionmakerboughtin": Stage.PROPOSE,
    "contractsent": Stage.NEGOTIATE,
    "closedwon": Stage.WON,
    "closedlost": Stage.LOST,
}
# Salesforce's standard Opportunity stages (IsWon / IsClosed decide won and lost first).
SALESFORCE_STAGES = {
    "prospecting": Stage.QUALIFY,
    "qualification": Stage.QUALIFY,
    "needs analysis": Stage.DISCOVER,
    "value proposition": Stage.DISCOVER,
    "id. decision makers": Stage.DISCOVER,
    "perception analysis": Stage.DISCOVER,
    "proposal/price quote": Stage.PROPOSE,
    "negotiation/review": Stage.NEGOTIATE,
    "closed won": Stage.WON,
    "closed lost": Stage.LOST,
}
SALESFORCE_ROLES = {
    "decision maker": ContactRole.DECISION_MAKER,
    "economic buyer": ContactRole.DECISION_MAKER,
    "executive sponsor": ContactRole.DECISION_MAKER,
    "influencer": ContactRole.CHAMPION,
    "champion": ContactRole.CHAMPION,
    "business user": ContactRole.USER,
    "technical buyer": ContactRole.USER,
    "evaluator": ContactRole.USER,
    "finance": ContactRole.FINANCE,
}
SALESFORCE_LEAD_SOURCES = {
    "web": LeadSource.INBOUND,
    "phone inquiry": LeadSource.INBOUND,
    "advertisement": LeadSource.INBOUND,
    "partner referral": LeadSource.PARTNER,
    "partner": LeadSource.PARTNER,
    "employee referral": LeadSource.REFERRAL,
    "external referral": LeadSource.REFERRAL,
    "purchased list": LeadSource.OUTBOUND,
    "trade show": LeadSource.EVENT,
    "seminar - internal": LeadSource.EVENT,
    "seminar - partner": LeadSource.EVENT,
}
HUBSPOT_ANALYTICS_SOURCES = {
    "organic_search": LeadSource.INBOUND,
    "paid_search": LeadSource.INBOUND,
    "direct_traffic": LeadSource.INBOUND,
    "social_media": LeadSource.INBOUND,
    "paid_social": LeadSource.INBOUND,
    "email_marketing": LeadSource.INBOUND,
    "referrals": LeadSource.REFERRAL,
}


class Reader:
    """Reads values out of a payload, collecting every problem (by place) instead of
    stopping at the first; `done()` raises them all at once."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.notes: list[str] = []

    def fail(self, place: str, message: str) -> None:
        self.errors.setdefault(place, []).append(message)

    def done(self) -> None:
        if self.errors:
            raise MappingError(self.errors)

    def obj(self, value: Any, place: str, *, required: bool = True) -> dict[str, Any]:
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.fail(place, "Expected a JSON object." if value is not None else "Missing.")
            return {}
        return value

    def items(self, value: Any, place: str) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, dict) and isinstance(value.get("records"), list):
            return value["records"]  # a Salesforce sub-query: {"totalSize": …, "records": […]}
        if not isinstance(value, list):
            self.fail(place, "Expected a JSON array.")
            return []
        return value

    def text(self, value: Any, place: str, *, required: bool = False, max_length: int | None = None) -> str:
        if isinstance(value, bool | dict | list):
            self.fail(place, "Expected text.")
            return ""
        text = "" if value is None else str(value).strip()
        if required and not text:
            self.fail(place, "Missing.")
        if max_length is not None and len(text) > max_length:
            self.fail(place, f"Longer than {max_length} characters.")
            return ""
        return text

    def amount(self, value: Any, place: str) -> Decimal:
        if isinstance(value, bool | dict | list):
            self.fail(place, "Expected a number.")
            return Decimal(0)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.fail(place, "Missing: the deal's amount is required (0 if there is none).")
            return Decimal(0)
        try:
            amount = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            self.fail(place, f"Not a number: {str(value)[:40]!r}.")
            return Decimal(0)
        if not amount.is_finite() or amount < 0:
            self.fail(place, "The amount must be a number, not negative.")
            return Decimal(0)
        return amount.quantize(Decimal("0.01"))

    def date(self, value: Any, place: str) -> datetime.date | None:
        """A date from "2026-11-30", an ISO date-time, or HubSpot's epoch milliseconds."""
        if value is None or value == "":
            return None
        if isinstance(value, bool | dict | list):
            self.fail(place, "Expected a date.")
            return None
        text = str(value).strip()
        if re.fullmatch(r"\d{10,13}", text):
            seconds = int(text) / (1000 if len(text) == 13 else 1)
            return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC).date()
        try:
            if "T" in text:
                return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(datetime.UTC).date()
            return datetime.date.fromisoformat(text)
        except ValueError:
            self.fail(place, f"Not a date: {text[:40]!r} (use YYYY-MM-DD).")
            return None

    def boolean(self, value: Any, place: str) -> bool:
        if value is None or value == "":
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "false", "yes", "no", "1", "0"}:
            return value.strip().lower() in {"true", "yes", "1"}
        self.fail(place, "Expected true or false.")
        return False

    def currency(self, value: Any, place: str) -> str:
        code = self.text(value, place).upper()
        if not code:
            return Currency.EUR
        if code not in Currency.values:
            self.fail(place, f"Unknown currency {code!r}: Baton takes {', '.join(Currency.values)}.")
        return code

    def lead_source(self, value: Any, place: str) -> str:
        text = self.text(value, place)
        if not text:
            return ""
        for source in LeadSource:
            if text.lower() in {source.value, source.label.lower()}:
                return source.value
        self.fail(place, f"Unknown lead source {text!r}: use one of {', '.join(v for v in LeadSource.values if v)}.")
        return ""

    def email(self, value: Any, place: str) -> str:
        email = self.text(value, place)
        if not email:
            return ""
        try:
            validate_email(email)
        except ValidationError:
            self.notes.append(f"{place}: {email[:60]!r} is not an e-mail address, left out.")
            return ""
        return email.lower()

    def contact(
        self, *, external_id: Any, email: Any, first_name: Any, last_name: Any, title: Any, role: str, place: str
    ) -> InboundContact | None:
        contact_email = self.email(email, f"{place}.email")
        first = self.text(first_name, f"{place}.first_name", max_length=100)
        last = self.text(last_name, f"{place}.last_name", max_length=100)
        if not first and not last:
            if not contact_email:
                self.notes.append(f"{place}: a contact with neither a name nor an e-mail address, left out.")
                return None
            first = contact_email.split("@")[0][:100]
        return InboundContact(
            external_id=self.text(external_id, f"{place}.id", max_length=100),
            first_name=first or last,
            last_name=last if first else "",
            email=contact_email,
            title=self.text(title, f"{place}.title", max_length=150),
            role=role,
        )


def _domain(website: str) -> str:
    """acme.com from "https://www.acme.com/about"."""
    domain = re.sub(r"^[a-z][a-z0-9+.-]*://", "", website.strip().lower()).split("/")[0].split("?")[0]
    return domain.removeprefix("www.")[:200]


def _promise_lines(reader: Reader, value: Any, place: str) -> tuple[InboundPromise, ...]:
    if isinstance(value, list):
        lines = [reader.text(item, f"{place}.{index}", max_length=300) for index, item in enumerate(value)]
    else:
        lines = [line.strip() for line in reader.text(value, place).splitlines()]
    for line in lines:
        if len(line) > 300:
            reader.fail(place, "A promise is longer than 300 characters.")
    return tuple(InboundPromise(description=line) for line in lines if line and len(line) <= 300)


def _close_fields(*, stage: str, closed_on: datetime.date | None) -> dict[str, Any]:
    won, lost = stage == Stage.WON, stage == Stage.LOST
    return {"won": won, "lost": lost, "stage": stage if not (won or lost) else "", "closed_on": closed_on}


# --- HubSpot ---------------------------------------------------------------------------


def _hubspot_value(value: Any) -> Any:
    # A workflow's legacy body sends {"value": "48000", "versions": [...]} per property.
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def map_hubspot(payload: Any) -> InboundDeal:
    reader = Reader()
    body = reader.obj(payload, "body")
    reader.done()
    raw_properties = body.get("properties", body)
    properties = {key: _hubspot_value(value) for key, value in reader.obj(raw_properties, "properties").items()}
    reader.done()
    place = "properties" if "properties" in body else "body"

    def prop(name: str) -> Any:
        return properties.get(name)

    deal_id = reader.text(prop("hs_object_id") or body.get("objectId"), f"{place}.hs_object_id", required=True)
    stage_value = reader.text(prop("dealstage"), f"{place}.dealstage", required=True)
    stage = HUBSPOT_STAGES.get(stage_value.lower()) or (
        stage_value.lower() if stage_value.lower() in Stage.values else ""
    )
    if stage_value and not stage:
        reader.fail(
            f"{place}.dealstage",
            f"Unknown deal stage {stage_value!r}: use HubSpot's default pipeline ({', '.join(HUBSPOT_STAGES)}) "
            "or Baton's stages (qualify, discover, propose, negotiate, won, lost).",
        )
    associations = reader.obj(body.get("associations"), "associations", required=False)
    company = reader.obj(associations.get("company") or body.get("company"), "associations.company", required=True)
    contacts = []
    contacts_value = associations.get("contacts", body.get("contacts"))
    for index, item in enumerate(reader.items(contacts_value, "associations.contacts")):
        contact_place = f"associations.contacts.{index}"
        item = {key: _hubspot_value(value) for key, value in reader.obj(item, contact_place).items()}
        contact = reader.contact(
            external_id=item.get("id") or item.get("hs_object_id"),
            email=item.get("email"),
            first_name=item.get("firstname"),
            last_name=item.get("lastname"),
            title=item.get("jobtitle"),
            role=_role(reader, item.get("role"), f"{contact_place}.role", default=ContactRole.OTHER),
            place=contact_place,
        )
        if contact is not None:
            contacts.append(contact)
    lead_source = reader.lead_source(prop("baton_lead_source"), f"{place}.baton_lead_source")
    if not lead_source:
        lead_source = HUBSPOT_ANALYTICS_SOURCES.get(str(prop("hs_analytics_source") or "").lower(), "")
    deal = InboundDeal(
        external_id=deal_id[:100],
        title=reader.text(prop("dealname"), f"{place}.dealname", required=True, max_length=200),
        amount=reader.amount(prop("amount"), f"{place}.amount"),
        currency=reader.currency(prop("deal_currency_code"), f"{place}.deal_currency_code"),
        **_close_fields(stage=stage, closed_on=reader.date(prop("closedate"), f"{place}.closedate")),
        close_reason=reader.text(prop("closed_won_reason"), f"{place}.closed_won_reason"),
        owner_email=reader.email(
            prop("hubspot_owner_email") or prop("owner_email") or body.get("owner_email"),
            f"{place}.hubspot_owner_email",
        ),
        account_external_id=reader.text(
            company.get("id") or company.get("hs_object_id"), "associations.company.id", required=True, max_length=100
        ),
        account_name=reader.text(company.get("name"), "associations.company.name", required=True, max_length=200),
        account_domain=_domain(reader.text(company.get("domain"), "associations.company.domain")),
        contacts=tuple(contacts),
        lead_source=lead_source,
        context=_context(reader, {key: prop(f"baton_context_{key}") for key in CONTEXT_KEYS}, f"{place}.baton_context"),
        promises=_promise_lines(reader, prop("baton_promises"), f"{place}.baton_promises"),
        no_promises_made=reader.boolean(prop("baton_no_promises"), f"{place}.baton_no_promises"),
        next_step=reader.text(prop("hs_next_step"), f"{place}.hs_next_step", max_length=300),
        expected_close_date=None,
        notes=tuple(reader.notes),
    )
    reader.done()
    return deal


def _role(reader: Reader, value: Any, place: str, *, default: str) -> str:
    text = reader.text(value, place).lower()
    if not text:
        return default
    if text in ContactRole.values:
        return text
    return SALESFORCE_ROLES.get(text, ContactRole.OTHER)


def _context(reader: Reader, values: dict[str, Any], place: str) -> dict[str, str]:
    context = {}
    for key, field_name in CONTEXT_KEYS.items():
        text = reader.text(values.get(key), f"{place}_{key}")
        if text:
            context[field_name] = text
    return context


# --- Salesforce ------------------------------------------------------------------------


def map_salesforce(payload: Any) -> InboundDeal:
    reader = Reader()
    body = reader.obj(payload, "body")
    reader.done()
    place = "Opportunity" if "Opportunity" in body else "body"
    opportunity = reader.obj(body.get("Opportunity", body), place)
    reader.done()

    def value(name: str) -> Any:
        return opportunity.get(name)

    stage_name = reader.text(value("StageName"), f"{place}.StageName")
    is_won = reader.boolean(value("IsWon"), f"{place}.IsWon")
    is_closed = reader.boolean(value("IsClosed"), f"{place}.IsClosed")
    if is_won:
        stage = Stage.WON
    elif is_closed:
        stage = Stage.LOST
    else:
        stage = SALESFORCE_STAGES.get(stage_name.lower(), "")
        if not stage_name:
            reader.fail(f"{place}.StageName", "Missing (or send IsWon).")
        elif not stage:
            reader.fail(
                f"{place}.StageName",
                f"Unknown stage {stage_name!r}: send IsWon / IsClosed, or one of Salesforce's standard stages "
                f"({', '.join(sorted(SALESFORCE_STAGES))}).",
            )
    owner = reader.obj(value("Owner"), f"{place}.Owner", required=False)
    account = reader.obj(value("Account"), f"{place}.Account")
    contacts = []
    for index, item in enumerate(reader.items(value("OpportunityContactRoles"), f"{place}.OpportunityContactRoles")):
        role_place = f"{place}.OpportunityContactRoles.{index}"
        item = reader.obj(item, role_place)
        person = reader.obj(item.get("Contact"), f"{role_place}.Contact")
        contact = reader.contact(
            external_id=person.get("Id") or item.get("ContactId"),
            email=person.get("Email"),
            first_name=person.get("FirstName"),
            last_name=person.get("LastName"),
            title=person.get("Title"),
            role=_role(reader, item.get("Role"), f"{role_place}.Role", default=ContactRole.OTHER),
            place=f"{role_place}.Contact",
        )
        if contact is not None:
            contacts.append(contact)
    lead_source = reader.text(value("Baton_Lead_Source__c"), f"{place}.Baton_Lead_Source__c")
    if lead_source:
        lead_source = reader.lead_source(lead_source, f"{place}.Baton_Lead_Source__c")
    else:
        lead_source = SALESFORCE_LEAD_SOURCES.get(reader.text(value("LeadSource"), f"{place}.LeadSource").lower(), "")
    deal = InboundDeal(
        external_id=reader.text(value("Id"), f"{place}.Id", required=True, max_length=100),
        title=reader.text(value("Name"), f"{place}.Name", required=True, max_length=200),
        amount=reader.amount(value("Amount"), f"{place}.Amount"),
        currency=reader.currency(value("CurrencyIsoCode"), f"{place}.CurrencyIsoCode"),
        **_close_fields(stage=stage, closed_on=reader.date(value("CloseDate"), f"{place}.CloseDate")),
        close_reason=reader.text(value("Description"), f"{place}.Description"),
        owner_email=reader.email(owner.get("Email"), f"{place}.Owner.Email"),
        account_external_id=reader.text(account.get("Id"), f"{place}.Account.Id", required=True, max_length=100),
        account_name=reader.text(account.get("Name"), f"{place}.Account.Name", required=True, max_length=200),
        account_domain=_domain(reader.text(account.get("Website"), f"{place}.Account.Website")),
        contacts=tuple(contacts),
        lead_source=lead_source,
        context=_context(
            reader,
            {key: value(f"Baton_Context_{key.title()}__c") for key in CONTEXT_KEYS},
            f"{place}.Baton_Context",
        ),
        promises=_promise_lines(reader, value("Baton_Promises__c"), f"{place}.Baton_Promises__c"),
        no_promises_made=reader.boolean(value("Baton_No_Promises__c"), f"{place}.Baton_No_Promises__c"),
        next_step=reader.text(value("NextStep"), f"{place}.NextStep", max_length=300),
        expected_close_date=None,
        notes=tuple(reader.notes),
    )
    reader.done()
    return deal


# --- generic ---------------------------------------------------------------------------

GENERIC_TOP = {"deal", "account", "contacts"}
GENERIC_DEAL = {
    "id",
    "title",
    "amount",
    "currency",
    "stage",
    "closed_on",
    "close_reason",
    "owner_email",
    "lead_source",
    "context",
    "promises",
    "no_promises_made",
    "next_step",
    "next_step_due",
    "expected_close_date",
}
GENERIC_ACCOUNT = {"id", "name", "domain"}
GENERIC_CONTACT = {"id", "email", "first_name", "last_name", "title", "role"}
GENERIC_PROMISE = {"description", "target_date"}


def _refuse_unknown(reader: Reader, value: dict[str, Any], allowed: set[str], place: str) -> None:
    for key in sorted(set(value) - allowed):
        reader.fail(f"{place}.{key}" if place else key, "Unknown field.")


def map_generic(payload: Any) -> InboundDeal:
    reader = Reader()
    body = reader.obj(payload, "body")
    reader.done()
    _refuse_unknown(reader, body, GENERIC_TOP, "")
    deal = reader.obj(body.get("deal"), "deal")
    account = reader.obj(body.get("account"), "account")
    reader.done()
    _refuse_unknown(reader, deal, GENERIC_DEAL, "deal")
    _refuse_unknown(reader, account, GENERIC_ACCOUNT, "account")
    stage_value = reader.text(deal.get("stage"), "deal.stage", required=True).lower()
    if stage_value and stage_value not in Stage.values:
        reader.fail("deal.stage", f"Unknown stage {stage_value!r}: use one of {', '.join(Stage.values)}.")
    contacts = []
    for index, item in enumerate(reader.items(body.get("contacts"), "contacts")):
        item = reader.obj(item, f"contacts.{index}")
        _refuse_unknown(reader, item, GENERIC_CONTACT, f"contacts.{index}")
        role = reader.text(item.get("role"), f"contacts.{index}.role").lower() or ContactRole.OTHER
        if role not in ContactRole.values:
            reader.fail(f"contacts.{index}.role", f"Unknown role {role!r}: use one of {', '.join(ContactRole.values)}.")
        contact = reader.contact(
            external_id=item.get("id"),
            email=item.get("email"),
            first_name=item.get("first_name"),
            last_name=item.get("last_name"),
            title=item.get("title"),
            role=role,
            place=f"contacts.{index}",
        )
        if contact is not None:
            contacts.append(contact)
    context = reader.obj(deal.get("context"), "deal.context", required=False)
    _refuse_unknown(reader, context, set(CONTEXT_KEYS), "deal.context")
    promises = []
    for index, item in enumerate(reader.items(deal.get("promises"), "deal.promises")):
        place = f"deal.promises.{index}"
        if isinstance(item, str):
            item = {"description": item}
        item = reader.obj(item, place)
        _refuse_unknown(reader, item, GENERIC_PROMISE, place)
        description = reader.text(item.get("description"), f"{place}.description", required=True, max_length=300)
        if description:
            promises.append(InboundPromise(description, reader.date(item.get("target_date"), f"{place}.target_date")))
    mapped = InboundDeal(
        external_id=reader.text(deal.get("id"), "deal.id", required=True, max_length=100),
        title=reader.text(deal.get("title"), "deal.title", required=True, max_length=200),
        amount=reader.amount(deal.get("amount"), "deal.amount"),
        currency=reader.currency(deal.get("currency"), "deal.currency"),
        **_close_fields(stage=stage_value, closed_on=reader.date(deal.get("closed_on"), "deal.closed_on")),
        close_reason=reader.text(deal.get("close_reason"), "deal.close_reason"),
        owner_email=reader.email(deal.get("owner_email"), "deal.owner_email"),
        account_external_id=reader.text(account.get("id"), "account.id", required=True, max_length=100),
        account_name=reader.text(account.get("name"), "account.name", required=True, max_length=200),
        account_domain=_domain(reader.text(account.get("domain"), "account.domain")),
        contacts=tuple(contacts),
        lead_source=reader.lead_source(deal.get("lead_source"), "deal.lead_source"),
        context=_context(reader, context, "deal.context"),
        promises=tuple(promises),
        no_promises_made=reader.boolean(deal.get("no_promises_made"), "deal.no_promises_made"),
        next_step=reader.text(deal.get("next_step"), "deal.next_step", max_length=300),
        next_step_due=reader.date(deal.get("next_step_due"), "deal.next_step_due"),
        expected_close_date=reader.date(deal.get("expected_close_date"), "deal.expected_close_date"),
        notes=tuple(reader.notes),
    )
    reader.done()
    return mapped


MAPPERS: dict[str, Callable[[Any], InboundDeal]] = {
    InboundKind.HUBSPOT: map_hubspot,
    InboundKind.SALESFORCE: map_salesforce,
    InboundKind.GENERIC: map_generic,
}
