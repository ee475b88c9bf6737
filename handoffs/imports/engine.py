"""The import itself: one pass that plans a file against the database, and the
set-based writer of that plan.

Planning (the dry run and the run alike) reads the file's rows, turns each into an
account, a contact and a deal (those its mapping names), rejects what cannot be imported
with its reason and line, and matches every record once against Baton with a few
queries per chunk of ids (never one per row):

- accounts by the source's id (`external_source` = the source, `external_id`), else
  by domain, else — a row without either — by name; only accounts without an id of
  their own are adopted by domain or name (they were typed into Baton by hand);
- contacts by id, else by e-mail within their account, else by name within it;
- deals by id, else by title within their account (one without an id of its own).

A record found is updated with what the file says and Baton does not (an empty cell
never blanks a field); one the file says nothing new about is left alone — no version
bump, no timeline event — which is what makes a second import of the same file change
nothing. Owners: the owner mapping, else the Baton user with that e-mail or name whom
the importer may give records to, else the importer. Records that exist keep their
Baton owner (an owner change has its own history).

Deals: lost ones are skipped (Baton imports open and won deals, as from the inbound
closes). A won deal is imported won, without a hand-off — unless the job starts
hand-offs: then it is written open and closed through deal_close(packet_pending_ok=True),
the browser's close gate, so one with an incomplete packet is won with its packet pending.

Writing goes by chunks of CHUNK_ROWS rows: bulk_create / bulk_update of each model for the
records first seen in the chunk, then the chunk's closes, then the progress.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models.base import ModelState
from django.db.models.expressions import DatabaseDefault
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.access import account_users_assignable_by, may_change_held, team_scope_ids
from accounts.choices import EventVerb
from accounts.models import Account, Contact, OwnershipChange, TimelineEvent, User
from accounts.validators import plausible_date_window, user_today
from handoffs.choices import ContactRole, Currency, LeadSource, Stage
from handoffs.imports import parsing
from handoffs.imports.choices import ImportKind, ImportStatus, RowAction
from handoffs.models import MAX_DEAL_AMOUNT, Deal, DealContact, ImportJob, ImportRejectedRow
from handoffs.services.deals import deal_close

CHUNK_ROWS = 2000
ID_CHUNK = 5000
DRY_RUN_ROWS_KEPT = 2000
# How often a queued dry run tells its progress (rows read).
PROGRESS_ROWS = 1000

CREATE, UPDATE, SKIP, REJECT = RowAction.CREATE, RowAction.UPDATE, RowAction.SKIP, RowAction.REJECT


class RowRejected(Exception):
    """A row that cannot be imported; its message is the reason shown to the user."""


# --- values --------------------------------------------------------------------------

_STAGE_WORDS = [
    (Stage.NEGOTIATE, ("negotiat", "contract", "decisionmakerboughtin", "decision maker bought", "review", "commit")),
    (Stage.PROPOSE, ("propos", "quote", "presentation", "price", "value proposition", "perception")),
    (
        Stage.DISCOVER,
        ("discover", "needs analysis", "appointment", "demo", "analysis", "meeting", "contact made", "decision makers"),
    ),
    (Stage.QUALIFY, ("qualif", "prospect", "lead", "new")),
]
_LEAD_SOURCE_WORDS = [
    (LeadSource.REFERRAL, ("referr", "word of mouth")),
    (LeadSource.PARTNER, ("partner", "reseller")),
    (LeadSource.EVENT, ("event", "trade show", "tradeshow", "webinar", "conference", "seminar")),
    (LeadSource.EXISTING_CUSTOMER, ("existing", "customer", "upsell", "renewal")),
    (LeadSource.OUTBOUND, ("outbound", "cold", "prospecting", "sales generated")),
    (LeadSource.INBOUND, ("inbound", "web", "organic", "form", "search", "social", "direct", "email", "ads", "paid")),
]
_ROLE_WORDS = [
    (ContactRole.DECISION_MAKER, ("decision", "economic buyer", "executive", "budget holder")),
    (ContactRole.CHAMPION, ("champion", "influencer")),
    (ContactRole.FINANCE, ("finance", "procurement", "legal")),
    (ContactRole.USER, ("user", "end user", "technical")),
]
_DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y", "%m/%d/%y", "%d.%m.%y"]
_CURRENCY_SIGNS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY"}


def _from_words(value: str, table: list[tuple[str, tuple[str, ...]]]) -> str | None:
    low = value.lower()
    for result, words in table:
        if any(word in low for word in words):
            return str(result)
    return None


def parse_stage(stage: str, status: str) -> str:
    """Baton's stage from a CRM's stage name and, for Pipedrive, its status column.
    Stage names Baton does not know become "qualify"."""
    status = status.strip().lower()
    if status in ("won", "lost"):
        return status
    if not stage.strip():
        return str(Stage.QUALIFY)
    # Won and lost as words only ("Closed Won", "closedwon"): "Unknown" is not won.
    closed = re.search(r"(?:\b|closed)(won|lost)\b", stage.lower())
    found = closed.group(1) if closed else _from_words(stage, _STAGE_WORDS) or str(Stage.QUALIFY)
    if status == "open" and found in (Stage.WON, Stage.LOST):
        return str(Stage.NEGOTIATE)
    return found


def parse_amount(value: str) -> tuple[Decimal, str]:
    """(amount, currency found in the cell or "") from "12,500.00", "12.500,00 €",
    "$ 1,200", "EUR 300"; RowRejected when it is not a number."""
    text = value.strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    currency = ""
    for sign, code in _CURRENCY_SIGNS.items():
        if sign in text:
            currency, text = code, text.replace(sign, "")
    match = re.fullmatch(r"([A-Za-z]{3})?(-?[\d.,]+)([A-Za-z]{3})?", text)
    if not match:
        raise RowRejected(f"The amount “{value.strip()}” is not a number.")
    currency = (match.group(1) or match.group(3) or currency).upper()
    number = match.group(2)
    if "," in number and "." in number:
        decimal_mark = "," if number.rfind(",") > number.rfind(".") else "."
        number = number.replace("." if decimal_mark == "," else ",", "").replace(",", ".")
    elif "," in number:
        # "1,234,567" is thousands; "1234,5" and "12,50" are decimals.
        number = number.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", number) else number.replace(",", ".")
    elif number.count(".") > 1:
        number = number.replace(".", "")
    try:
        amount = Decimal(number).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise RowRejected(f"The amount “{value.strip()}” is not a number.") from None
    if amount < 0 or amount >= MAX_DEAL_AMOUNT:
        raise RowRejected(f"The amount “{value.strip()}” is not plausible.")
    return amount, currency


def parse_date(value: str) -> datetime.date | None:
    """A date from the usual export formats (ISO first; 03/01/2026 is read as 1 March,
    the US order Salesforce and HubSpot write, unless the first number is over 12)."""
    text = value.strip()
    if not text:
        return None
    text = re.split(r"[T ]", text, maxsplit=1)[0] if re.match(r"\d{4}-\d\d-\d\d[T ]", text) else text
    text = text.split(" ")[0]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise RowRejected(f"The date “{value.strip()}” is not a date.")


def parse_domain(value: str) -> str:
    text = value.strip().lower()
    text = re.sub(r"^[a-z]+://", "", text).split("/")[0].split("?")[0]
    return text.removeprefix("www.")[:200]


_CURRENCIES = frozenset(Currency.values)  # an enum's .values is rebuilt on every read


def _currency(value: str, found: str) -> str:
    code = (value.strip() or found or Currency.EUR).upper()
    if code not in _CURRENCIES:
        raise RowRejected(f"The currency “{code}” is not one Baton knows ({', '.join(sorted(_CURRENCIES))}).")
    return code


_TEMPLATES: dict[type, dict[str, Any]] = {}


def new_instance(model: type, **values: Any) -> Any:
    """A new model instance with `values` (attnames: owner_id, not owner) over the model's
    defaults, without Model.__init__: for 100,000 rows, __init__'s per-field work costs
    more than the insert. Only for rows the import fills itself (insert_rows)."""
    template = _TEMPLATES.get(model)
    if template is None:
        template = {name: value for name, value in model().__dict__.items() if name != "_state"}
        _TEMPLATES[model] = template
    obj = model.__new__(model)
    obj.__dict__.update(template)
    obj.__dict__.update(values)
    obj._state = ModelState()
    return obj


def _cut(value: str, length: int) -> str:
    return value.strip()[:length]


# --- the plan ------------------------------------------------------------------------


@dataclass
class Record:
    """One account, contact or deal of the file, matched or new, and what to do with it."""

    kind: str
    key: tuple
    first_row: int  # index into Plan.rows of the first row that names it
    values: dict[str, Any]
    obj: Any = None
    action: str = CREATE
    changed: list[str] = field(default_factory=list)
    refused: str = ""  # a reason every row naming it is rejected with
    used: bool = False  # named by a row that is imported (settle)

    @property
    def writes(self) -> bool:
        return self.action in (CREATE, UPDATE)


@dataclass
class RowOutcome:
    """What happens to one row (the dry run's line)."""

    line: int
    action: str
    kind: str
    label: str
    reason: str = ""


@dataclass
class PlannedRow:
    """A row of the file and its records (keys into the plan's tables)."""

    line: int
    cells: dict[str, str] | list[str]  # the file's cells (a list: in the header's order)
    index: int = 0
    account: tuple | None = None
    contact: tuple | None = None
    deal: tuple | None = None
    role: str = ContactRole.OTHER
    reason: str = ""  # rejected
    skip_reason: str = ""
    owner_id: int | None = None
    label: str = ""


@dataclass
class DryRunReport:
    """What the dry run found: counts per kind and action, per row action, and the first
    rows' outcomes (those that are not plain creations first)."""

    rows_total: int
    counts: dict[str, dict[str, int]]
    row_counts: dict[str, int]
    rows: list[RowOutcome]
    owners: dict[str, int | None]
    handoffs_to_start: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "rows_total": self.rows_total,
            "counts": {
                kind: {str(action): n for action, n in actions.items()} for kind, actions in self.counts.items()
            },
            "row_counts": {str(action): n for action, n in self.row_counts.items()},
            "rows": [[row.line, str(row.action), row.kind, row.label, row.reason] for row in self.rows],
            "rows_kept": len(self.rows),
            "owners": self.owners,
            "handoffs_to_start": self.handoffs_to_start,
        }


class Plan:
    """A file planned against the database (see the module's docstring)."""

    def __init__(self, job: ImportJob, actor: User) -> None:
        self.job = job
        self.actor = actor
        self.source = job.source
        self.today = user_today(actor)
        self.earliest, self.latest = plausible_date_window(self.today)
        self.rows: list[PlannedRow] = []
        self.accounts: dict[tuple, Record] = {}
        self.contacts: dict[tuple, Record] = {}
        self.deals: dict[tuple, Record] = {}
        self.owner_values: dict[str, int | None] = {}
        self.scope = team_scope_ids(actor)
        self.fields_of = {column: name for column, name in job.column_mapping.items() if name}
        self.kind = job.object_kind

    # -- reading the rows --

    def read(self, text: str, *, progress: Callable[[int], None] | None = None) -> None:
        owners = _Owners(self.actor, self.job.owner_mapping)
        seen: dict[tuple, tuple[int, tuple[str, ...]]] = {}
        header = list(self.job.header)
        positions = [(header.index(column), name) for column, name in self.fields_of.items() if column in header]
        for item in parsing.rows(text, delimiter=self.job.delimiter):
            if progress is not None and self.rows and len(self.rows) % PROGRESS_ROWS == 0:
                progress(len(self.rows))
            if isinstance(item, tuple):
                line, reason, cells = item
                self.rows.append(PlannedRow(line=line, cells=cells, index=len(self.rows), reason=reason))
                continue
            row = PlannedRow(line=item.line, cells=item.values, index=len(self.rows))
            self.rows.append(row)
            values = {name: item.values[position].strip() for position, name in positions}
            try:
                self._read_row(row, values, owners, seen)
            except RowRejected as rejected:
                row.reason = str(rejected)
                row.account = row.contact = row.deal = None
        self.owner_values = owners.seen

    def _read_row(self, row: PlannedRow, values: dict[str, str], owners: _Owners, seen: dict) -> None:
        index = len(self.rows) - 1
        # Named before anything can be refused, so that a rejected row is recognisable.
        row.label = (
            values.get("deal.title")
            or values.get("contact.full_name")
            or " ".join(filter(None, [values.get("contact.first_name"), values.get("contact.last_name")]))
            or values.get("contact.email")
            or values.get("account.name")
            or ""
        )[:200]
        owner_value = values.get("owner", "")
        row.owner_id = owners.resolve(owner_value)
        account = self._account_values(values)
        contact = self._contact_values(values)
        deal = self._deal_values(values) if self.kind == ImportKind.DEALS else None
        if self.kind == ImportKind.CONTACTS and contact is None:
            raise RowRejected("The row names no contact (no name and no e-mail).")
        # Duplicate rows within the file: the same record twice.
        own_key = self._own_key(account, contact, deal)
        cells = tuple(values.values())  # in the mapping's order, the same for every row
        if own_key in seen:
            first_line, first_values = seen[own_key]
            if first_values == cells:
                row.skip_reason = f"Same as line {first_line}."
                row.label = self._label(account, contact, deal)
                return
            raise RowRejected(f"Duplicate of line {first_line}: the same {self._kind_word()} with other values.")
        seen[own_key] = (row.line, cells)
        if deal is not None and deal["stage"] == Stage.LOST:
            row.skip_reason = "Lost in the source: Baton imports open and won deals."
            row.label = self._label(account, contact, deal)
            return
        row.account = self._remember(self.accounts, "account", account, index, row.owner_id)
        if contact is not None:
            contact["account_key"] = row.account
            row.contact = self._remember(self.contacts, "contact", contact, index, None)
            row.role = contact.pop("role", ContactRole.OTHER)
        if deal is not None:
            deal["account_key"] = row.account
            row.deal = self._remember(self.deals, "deal", deal, index, row.owner_id)
        row.label = self._label(account, contact, deal)

    def _kind_word(self) -> str:
        return {"deals": "deal", "contacts": "contact", "accounts": "account"}[self.kind]

    def _own_key(self, account: dict, contact: dict | None, deal: dict | None) -> tuple:
        account_key = self._key("account", account)
        if self.kind == ImportKind.DEALS:
            return ("deal", *self._key("deal", {**deal, "account_key": account_key}))
        if self.kind == ImportKind.CONTACTS:
            return ("contact", *self._key("contact", {**contact, "account_key": account_key}))
        return ("account", *account_key)

    @staticmethod
    def _label(account: dict, contact: dict | None, deal: dict | None) -> str:
        if deal is not None:
            return f"{deal['title']} ({account['name']})"
        if contact is not None:
            name = f"{contact['first_name']} {contact['last_name']}".strip()
            return f"{name} ({account['name']})"
        return account["name"]

    def _account_values(self, values: dict[str, str]) -> dict[str, Any]:
        external_id = _cut(values.get("account.external_id", ""), 100)
        domain = parse_domain(values.get("account.domain", ""))
        name = _cut(values.get("account.name", ""), 200) or domain
        if not name and not external_id:
            raise RowRejected("The row names no account (no company name, id or domain).")
        if not name and self.kind == ImportKind.ACCOUNTS:
            # A row of an accounts file is the account itself: an id alone would create an
            # account without a name (a deal's or contact's row may point at one by id).
            raise RowRejected("The account has no name (nor a website to name it after): only its id.")
        return {
            "external_id": external_id,
            "name": name,
            "domain": domain,
            "industry": _cut(values.get("account.industry", ""), 100),
            "address": values.get("account.address", "").strip(),
        }

    def _contact_values(self, values: dict[str, str]) -> dict[str, Any] | None:
        first = _cut(values.get("contact.first_name", ""), 100)
        last = _cut(values.get("contact.last_name", ""), 100)
        full = values.get("contact.full_name", "").strip()
        email = values.get("contact.email", "").strip().lower()
        external_id = _cut(values.get("contact.external_id", ""), 100)
        if not (first or last or full or email):
            return None
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise RowRejected(f"The e-mail “{email}” is not an e-mail address.") from None
            if len(email) > 254:
                raise RowRejected("The e-mail is too long.")
        if not (first or last) and full:
            first, _, last = full.partition(" ")
            first, last = first[:100], last.strip()[:100]
        if not first:
            first, last = (last, "") if last else (email.split("@")[0][:100], last)
        return {
            "external_id": external_id,
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": _cut(values.get("contact.phone", ""), 50),
            "title": _cut(values.get("contact.title", ""), 150),
            "role": _from_words(values.get("contact.role", ""), _ROLE_WORDS) or ContactRole.OTHER,
        }

    def _deal_values(self, values: dict[str, str]) -> dict[str, Any]:
        title = _cut(values.get("deal.title", ""), 200)
        if not title:
            raise RowRejected("The deal has no title.")
        amount, found_currency = (
            parse_amount(values["deal.amount"]) if values.get("deal.amount") else (Decimal("0.00"), "")
        )
        stage = parse_stage(values.get("deal.stage", ""), values.get("deal.status", ""))
        close_date = parse_date(values.get("deal.close_date", ""))
        next_step_due = parse_date(values.get("deal.next_step_due", ""))
        for day in (close_date, next_step_due):
            if day is not None and not self.earliest <= day <= self.latest:
                raise RowRejected(
                    f"The date {day:%Y-%m-%d} is not plausible: between {self.earliest:%Y-%m-%d} and "
                    f"{self.latest:%Y-%m-%d}."
                )
        return {
            "external_id": _cut(values.get("deal.external_id", ""), 100),
            "title": title,
            "amount": amount,
            "currency": _currency(values.get("deal.currency", ""), found_currency),
            "stage": stage,
            "close_date": close_date,
            "next_step": _cut(values.get("deal.next_step", ""), 300),
            "next_step_due": next_step_due,
            "lead_source": _from_words(values.get("deal.lead_source", ""), _LEAD_SOURCE_WORDS) or "",
            "segment": _cut(values.get("deal.segment", ""), 50),
            "context_needs": values.get("deal.context_needs", "").strip(),
        }

    def _key(self, kind: str, values: dict[str, Any]) -> tuple:
        if values.get("external_id"):
            return ("id", values["external_id"])
        if kind == "account":
            return ("domain", values["domain"]) if values["domain"] else ("name", values["name"].lower())
        if kind == "contact":
            if values["email"]:
                return ("email", values["account_key"], values["email"])
            return ("name", values["account_key"], f"{values['first_name']} {values['last_name']}".lower())
        return ("title", values["account_key"], values["title"].lower())

    def _remember(self, table: dict, kind: str, values: dict, index: int, owner_id: int | None) -> tuple:
        key = self._key(kind, values)
        if key not in table:
            values["owner_id"] = owner_id
            table[key] = Record(kind=kind, key=key, first_row=index, values=values)
        return key

    # -- matching against Baton --

    def match(self) -> None:
        self._match_accounts()
        self._match_contacts()
        self._match_deals()

    def _match_accounts(self) -> None:
        records = list(self.accounts.values())
        by_id = _fetch(
            Account.objects.filter(external_source=self.source),
            "external_id",
            {r.values["external_id"] for r in records if r.values["external_id"]},
        )
        unmatched = [r for r in records if r.values["external_id"] not in by_id or not r.values["external_id"]]
        handmade = Account.objects.filter(external_id="").annotate(match_key=Lower("domain"))
        by_domain = _fetch(handmade, "match_key", {r.values["domain"] for r in unmatched if r.values["domain"]})
        handmade = Account.objects.filter(external_id="").annotate(match_key=Lower("name"))
        by_name = _fetch(handmade, "match_key", {r.values["name"].lower() for r in unmatched if not r.values["domain"]})
        adopted: set[int] = set()
        for record in records:
            values = record.values
            found = by_id.get(values["external_id"]) if values["external_id"] else None
            if found is None and values["domain"]:
                found = by_domain.get(values["domain"])
            if found is None and not values["domain"]:
                found = by_name.get(values["name"].lower())
            if found is not None and found.pk in adopted:
                found = None  # two accounts of the file may not adopt the same Baton account
            if found is None:
                record.obj = new_instance(
                    Account,
                    name=values["name"],
                    domain=values["domain"],
                    industry=values["industry"],
                    address=values["address"],
                    external_source=self.source if values["external_id"] else "",
                    external_id=values["external_id"],
                    owner_id=values["owner_id"],
                )
                continue
            adopted.add(found.pk)
            record.obj = found
            if not may_change_held(self.actor, owner_id=found.owner_id, team_id=found.team_id, scope=self.scope):
                record.refused = f"The account “{found.name}” is in Baton already, held by a team you do not manage."
                continue
            changes = {name: values[name] for name in ("name", "domain", "industry", "address") if values[name]}
            if values["external_id"] and not found.external_id:
                changes.update(external_source=self.source, external_id=values["external_id"])
            _apply_changes(record, found, changes)

    def _match_contacts(self) -> None:
        records = list(self.contacts.values())
        by_id = _fetch(
            Contact.objects.filter(external_source=self.source),
            "external_id",
            {r.values["external_id"] for r in records if r.values["external_id"]},
        )
        account_ids = {
            self.accounts[r.values["account_key"]].obj.pk
            for r in records
            if self.accounts[r.values["account_key"]].obj.pk is not None
        }
        by_email: dict[tuple, Contact] = {}
        by_name: dict[tuple, Contact] = {}
        for chunk in _chunks(sorted(account_ids), ID_CHUNK):
            for contact in Contact.objects.filter(account_id__in=chunk).order_by("pk"):
                if contact.email:
                    by_email.setdefault((contact.account_id, contact.email.lower()), contact)
                by_name.setdefault((contact.account_id, str(contact).lower()), contact)
        taken: set[int] = set()
        planned_emails: set[tuple] = set()
        for record in records:
            values = record.values
            account = self.accounts[values["account_key"]]
            found = by_id.get(values["external_id"]) if values["external_id"] else None
            if found is None and account.obj.pk is not None:
                name = f"{values['first_name']} {values['last_name']}".strip().lower()
                candidate = by_email.get((account.obj.pk, values["email"])) if values["email"] else None
                candidate = candidate or (by_name.get((account.obj.pk, name)) if not values["email"] else None)
                if (
                    candidate is not None
                    and candidate.pk not in taken
                    and (not candidate.external_id or not values["external_id"])
                ):
                    found = candidate
            # Two contacts of one account may not share an e-mail (a constraint): the
            # second is refused here rather than failing the whole run at the insert.
            if values["email"] and (found is None or found.email.lower() != values["email"]):
                account_ref = account.obj.pk or ("new", values["account_key"])
                email_key = (account_ref, values["email"])
                holder = by_email.get(email_key) if account.obj.pk is not None else None
                if email_key in planned_emails or (holder is not None and holder is not found):
                    record.refused = f"Another contact of this account already has the e-mail {values['email']}."
                    record.obj = found or Contact()
                    continue
                planned_emails.add(email_key)
            if found is None:
                record.obj = new_instance(
                    Contact,
                    first_name=values["first_name"],
                    last_name=values["last_name"],
                    email=values["email"],
                    phone=values["phone"],
                    title=values["title"],
                    external_source=self.source if values["external_id"] else "",
                    external_id=values["external_id"],
                )
                continue
            taken.add(found.pk)
            record.obj = found
            changes = {
                name: values[name] for name in ("first_name", "last_name", "email", "phone", "title") if values[name]
            }
            if values["external_id"] and not found.external_id:
                changes.update(external_source=self.source, external_id=values["external_id"])
            _apply_changes(record, found, changes)

    def _match_deals(self) -> None:
        records = list(self.deals.values())
        by_id = _fetch(
            Deal.objects.filter(external_source=self.source),
            "external_id",
            {r.values["external_id"] for r in records if r.values["external_id"]},
        )
        account_ids = {
            self.accounts[r.values["account_key"]].obj.pk
            for r in records
            if self.accounts[r.values["account_key"]].obj.pk is not None
        }
        by_title: dict[tuple, Deal] = {}
        for chunk in _chunks(sorted(account_ids), ID_CHUNK):
            for deal in Deal.objects.filter(account_id__in=chunk, external_id="").order_by("pk"):
                by_title.setdefault((deal.account_id, deal.title.lower()), deal)
        for record in records:
            values = record.values
            account = self.accounts[values["account_key"]]
            found = by_id.get(values["external_id"]) if values["external_id"] else None
            if found is None and account.obj.pk is not None:
                found = by_title.get((account.obj.pk, values["title"].lower()))
            if found is None:
                record.obj = self._new_deal(values)
            else:
                self._update_deal(record, found)

    def _new_deal(self, values: dict[str, Any]) -> Deal:
        deal = new_instance(
            Deal,
            title=values["title"],
            amount=values["amount"],
            currency=values["currency"],
            segment=values["segment"],
            lead_source=values["lead_source"],
            context_needs=values["context_needs"],
            external_source=self.source if values["external_id"] else "",
            external_id=values["external_id"],
            owner_id=values["owner_id"],
        )
        if values["stage"] == Stage.WON:
            closed_on = min(values["close_date"] or self.today, self.today)
            if self.job.start_handoffs:
                # Written open, then closed through deal_close: the browser's close gate.
                deal.stage = Stage.NEGOTIATE
                deal.next_step, deal.next_step_due = "Log the close (won in the source)", self.today
                values["close_on"] = closed_on
            else:
                deal.stage, deal.closed_on = Stage.WON, closed_on
                deal.close_reason = f"Won in {self.job.get_source_display()} (imported from {self.job.file_name})"
            return deal
        deal.stage = values["stage"]
        deal.expected_close_date = values["close_date"]
        deal.next_step = values["next_step"] or f"Agree the next step (imported from {self.job.file_name})"[:300]
        due = values["next_step_due"]
        deal.next_step_due = due if due is not None and due >= self.today else self.today
        return deal

    def _update_deal(self, record: Record, found: Deal) -> None:
        values = record.values
        record.obj = found
        if not may_change_held(self.actor, owner_id=found.owner_id, team_id=found.team_id, scope=self.scope):
            record.refused = f"The deal “{found.title}” is in Baton already, held by a team you do not manage."
            return
        if not found.is_open:
            record.action = SKIP
            record.values["skip_reason"] = "Already closed in Baton."
            return
        changes: dict[str, Any] = {"title": values["title"], "amount": values["amount"], "currency": values["currency"]}
        for name in ("segment", "lead_source", "context_needs", "next_step"):
            if values[name]:
                changes[name] = values[name]
        if values["next_step_due"] is not None and values["next_step_due"] >= self.today:
            changes["next_step_due"] = values["next_step_due"]
        if values["external_id"] and not found.external_id:
            changes.update(external_source=self.source, external_id=values["external_id"])
        if values["stage"] == Stage.WON:
            closed_on = min(values["close_date"] or self.today, self.today)
            if self.job.start_handoffs:
                values["close_on"] = closed_on
            else:
                changes.update(
                    stage=Stage.WON,
                    closed_on=closed_on,
                    next_step="",
                    next_step_due=None,
                    close_reason=f"Won in {self.job.get_source_display()} (imported from {self.job.file_name})",
                )
        else:
            changes["stage"] = values["stage"]
            if values["close_date"] is not None:
                changes["expected_close_date"] = values["close_date"]
        _apply_changes(record, found, changes)
        if values.get("close_on") is not None:
            record.action = UPDATE  # its close is a change even if nothing else is

    # -- the outcome --

    def settle(self) -> None:
        """Reject the rows one of whose records is refused; mark the records the imported
        rows use (only those are written); the deal-contact links to add."""
        self.links: list[tuple[tuple, tuple, str]] = []
        for row in self.rows:
            if row.reason or row.skip_reason:
                continue
            records = self._records_of(row)
            refused = next((record.refused for record in records if record.refused), "")
            if refused:
                row.reason = refused
                continue
            for record in records:
                record.used = True
            if row.deal is not None and row.contact is not None:
                self.links.append((row.deal, row.contact, row.role))
        # Only a rejected row's cells are kept (for the rejected-rows download): the others'
        # would hold the whole file in memory again for nothing.
        for row in self.rows:
            if not row.reason:
                row.cells = []
        existing = self._existing_links()
        self.new_links = []
        seen: set[tuple] = set()
        for deal_key, contact_key, role in self.links:
            deal_record, contact = self.deals[deal_key], self.contacts[contact_key].obj
            deal = deal_record.obj
            pair = (deal_key, contact_key)
            if pair in seen or (deal.pk is not None and contact.pk is not None and (deal.pk, contact.pk) in existing):
                continue
            if deal.pk is not None and not deal.is_open:
                continue  # a deal closed in Baton gets no new contacts from a file
            seen.add(pair)
            self.new_links.append((deal_key, contact_key, role))
            if deal_record.action == SKIP:
                deal_record.action = UPDATE  # a new contact on the deal is a change

    def _records_of(self, row: PlannedRow) -> list[Record]:
        pairs = ((self.accounts, row.account), (self.contacts, row.contact), (self.deals, row.deal))
        return [table[key] for table, key in pairs if key is not None]

    def _existing_links(self) -> set[tuple[int, int]]:
        deal_ids = sorted({self.deals[d].obj.pk for d, _, _ in self.links if self.deals[d].obj.pk is not None})
        pairs: set[tuple[int, int]] = set()
        for chunk in _chunks(deal_ids, ID_CHUNK):
            pairs.update(DealContact.objects.filter(deal_id__in=chunk).values_list("deal_id", "contact_id"))
        return pairs

    def row_outcome(self, row: PlannedRow) -> RowOutcome:
        if row.reason:
            return RowOutcome(row.line, REJECT, self.kind, row.label, row.reason)
        if row.skip_reason:
            return RowOutcome(row.line, SKIP, self.kind, row.label, row.skip_reason)
        own = {"deals": (self.deals, row.deal), "contacts": (self.contacts, row.contact)}.get(
            self.kind, (self.accounts, row.account)
        )
        table, key = own
        record = table[key]
        if record.action == CREATE:
            reason = "Won: its hand-off starts (or waits for its packet)." if record.values.get("close_on") else ""
            return RowOutcome(row.line, CREATE, self.kind, row.label, reason)
        if record.action == UPDATE:
            return RowOutcome(row.line, UPDATE, self.kind, row.label, _changed_words(record))
        touched = [
            r
            for r in (self._record(row, "account"), self._record(row, "contact"))
            if r is not None and r.writes and r.first_row == row.index
        ]
        if touched:
            return RowOutcome(
                row.line, UPDATE, self.kind, row.label, "; ".join(f"{r.kind}: {_changed_words(r)}" for r in touched)
            )
        return RowOutcome(row.line, SKIP, self.kind, row.label, record.values.get("skip_reason") or "Unchanged.")

    def _record(self, row: PlannedRow, kind: str) -> Record | None:
        key = getattr(row, kind)
        return None if key is None else {"account": self.accounts, "contact": self.contacts}[kind][key]

    def report(self) -> DryRunReport:
        counts: dict[str, Counter] = defaultdict(Counter)
        for table in (self.accounts, self.contacts, self.deals):
            for record in table.values():
                if record.used or record.refused:
                    counts[record.kind][REJECT if record.refused else record.action] += 1
        outcomes = [self.row_outcome(row) for row in self.rows]
        row_counts = Counter(outcome.action for outcome in outcomes)
        notable = [outcome for outcome in outcomes if outcome.action != CREATE or outcome.reason]
        plain = [outcome for outcome in outcomes if outcome.action == CREATE and not outcome.reason]
        kept = sorted((notable + plain)[:DRY_RUN_ROWS_KEPT], key=lambda outcome: outcome.line)
        return DryRunReport(
            rows_total=len(self.rows),
            counts={kind: dict(counter) for kind, counter in counts.items()},
            row_counts=dict(row_counts),
            rows=kept,
            owners=self.owner_values,
            handoffs_to_start=sum(1 for r in self.deals.values() if r.values.get("close_on") is not None and r.used),
        )

    def rejected_rows(self, job: ImportJob) -> Iterator[ImportRejectedRow]:
        for row in self.rows:
            if row.reason:
                cells = (
                    row.cells if isinstance(row.cells, dict) else dict(zip(self.job.header, row.cells, strict=False))
                )
                yield ImportRejectedRow(job=job, line=row.line, raw=cells, reason=row.reason)


@dataclass
class _Owners:
    """Who owns what the file names: the owner mapping, else the Baton user with that
    e-mail or full name whom the importer may give records to, else the importer."""

    actor: User
    mapping: dict[str, int]
    seen: dict[str, int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_email: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        for user in account_users_assignable_by(self.actor).only("pk", "email", "first_name", "last_name", "username"):
            if user.email:
                self.by_email.setdefault(user.email.lower(), user.pk)
            self.by_name.setdefault(user.get_full_name().lower() or user.username.lower(), user.pk)
        self.allowed = set(self.by_email.values()) | set(self.by_name.values())

    def resolve(self, value: str) -> int:
        if not value:
            return self.actor.pk
        if value not in self.seen:
            user_id = self.mapping.get(value)
            if user_id not in self.allowed:
                user_id = self.by_email.get(value.lower()) or self.by_name.get(" ".join(value.lower().split()))
            self.seen[value] = user_id
        return self.seen[value] or self.actor.pk


def _fetch(queryset, field_name: str, values: Iterable[str]) -> dict[str, Any]:
    """{value: first row (by pk)} for the rows whose `field_name` is among `values`,
    one query per ID_CHUNK values."""
    found: dict[str, Any] = {}
    for chunk in _chunks(sorted(values), ID_CHUNK):
        for obj in queryset.filter(**{f"{field_name}__in": chunk}).order_by("pk"):
            found.setdefault(getattr(obj, field_name), obj)
    return found


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _apply_changes(record: Record, obj: Any, changes: dict[str, Any]) -> None:
    changed = [name for name, value in changes.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, changes[name])
    record.changed = changed
    record.action = UPDATE if changed else SKIP


def _message_of(error: Exception) -> str:
    messages = getattr(error, "messages", None) or [str(error)]
    return " ".join(str(message) for message in messages)[:300]


def _changed_words(record: Record) -> str:
    names = [name.replace("_", " ") for name in record.changed if name != "external_source"]
    return "changes " + ", ".join(names) if names else "won: its hand-off starts (or waits for its packet)"


def plan_file(*, job: ImportJob, actor: User, progress: Callable[[int], None] | None = None) -> Plan:
    """Read and match the whole file (the dry run, and the run's first half). `progress`,
    if given, is told the rows read every PROGRESS_ROWS rows (the queued dry run's bar)."""
    text = parsing.decode(bytes(job.content), job.encoding)
    plan = Plan(job, actor)
    plan.read(text, progress=progress)
    plan.match()
    plan.settle()
    return plan


# --- writing -------------------------------------------------------------------------


class InjectedFailure(RuntimeError):
    """Raised by run_file when a test asks it to fail after some rows."""


def run_file(*, job: ImportJob, progress: Any, fail_after_rows: int | None = None) -> None:
    """Plan the file and write the plan; call inside one transaction (services.import_run).
    The job row is written once, at the end (see progress.py for why)."""
    actor = job.created_by
    plan = plan_file(job=job, actor=actor)
    writer = _Writer(plan, job)
    for start in range(0, len(plan.rows), CHUNK_ROWS):
        end = min(start + CHUNK_ROWS, len(plan.rows))
        writer.write_chunk(start, end)
        if fail_after_rows is not None and end >= fail_after_rows:
            raise InjectedFailure(f"Injected failure after {end} rows.")
        progress.write(end)
    writer.write_events()
    report = plan.report()
    ImportRejectedRow.objects.filter(job=job).delete()
    ImportRejectedRow.objects.bulk_create(plan.rejected_rows(job), batch_size=2000)
    rows = report.row_counts
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.DONE,
        rows_total=len(plan.rows),
        rows_done=len(plan.rows),
        created_count=rows.get(CREATE, 0),
        updated_count=rows.get(UPDATE, 0),
        skipped_count=rows.get(SKIP, 0),
        rejected_count=rows.get(REJECT, 0),
        summary={
            "counts": report.as_json()["counts"],
            "row_counts": report.as_json()["row_counts"],
            "handoffs_started": writer.handoffs_started,
            "closes_refused": writer.closes_refused[:100],
            "packets_pending": writer.packets_pending,
            "accounts_touched": len(writer.touched),
        },
        finished_at=timezone.now(),
        progress_at=timezone.now(),
        error="",
    )


class _Writer:
    """Writes a plan chunk by chunk (see the module's docstring)."""

    def __init__(self, plan: Plan, job: ImportJob) -> None:
        self.plan, self.job = plan, job
        self.now = timezone.now()
        self.by_row: dict[int, list[Record]] = defaultdict(list)
        for table in (plan.accounts, plan.contacts, plan.deals):
            for record in table.values():
                if record.writes and record.used:
                    self.by_row[record.first_row].append(record)
        self.links_by_row: dict[int, list[tuple]] = defaultdict(list)
        for deal_key, contact_key, role in plan.new_links:
            first = max(plan.deals[deal_key].first_row, plan.contacts[contact_key].first_row)
            self.links_by_row[first].append((deal_key, contact_key, role))
        # What each account's timeline event says: {account key: Counter("deal created"…)}.
        self.touched: dict[tuple, Counter] = defaultdict(Counter)
        self.handoffs_started = 0
        self.packets_pending = 0
        self.closes_refused: list[list[str]] = []
        self.owners = {u.pk: u for u in User.objects.filter(pk__in=self._owner_ids()).only("pk", "team_id")}

    def _owner_ids(self) -> set[int]:
        ids = {self.job.created_by_id}
        for table in (self.plan.accounts, self.plan.deals):
            ids.update(r.values["owner_id"] for r in table.values() if r.values.get("owner_id"))
        return ids

    def write_chunk(self, start: int, end: int) -> None:
        records = [record for index in range(start, end) for record in self.by_row.get(index, [])]
        accounts = [r for r in records if r.kind == "account"]
        contacts = [r for r in records if r.kind == "contact"]
        deals = [r for r in records if r.kind == "deal"]
        self._write_accounts(accounts)
        self._write_contacts(contacts)
        self._write_deals(deals)
        links = [link for index in range(start, end) for link in self.links_by_row.get(index, [])]
        self._write_links(links)
        self._close_won(deals)

    def _team_of(self, owner_id: int) -> int | None:
        owner = self.owners.get(owner_id)
        return owner.team_id if owner is not None else None

    def _write_accounts(self, records: list[Record]) -> None:
        new = [r for r in records if r.action == CREATE]
        for record in new:
            record.obj.team_id = self._team_of(record.obj.owner_id)
        insert_rows(Account, [r.obj for r in new])
        insert_rows(
            OwnershipChange,
            [
                new_instance(
                    OwnershipChange,
                    account_id=r.obj.pk,
                    to_user_id=r.obj.owner_id,
                    changed_by_id=self.job.created_by_id,
                    reason=f"Account imported from {self.job.file_name}"[:300],
                )
                for r in new
            ],
        )
        self._bulk_update(Account, [r for r in records if r.action == UPDATE], bump=True)
        for record in records:
            self.touched[record.key][f"account {'created' if record.action == CREATE else 'updated'}"] += 1

    def _write_contacts(self, records: list[Record]) -> None:
        new = [r for r in records if r.action == CREATE]
        for record in new:
            record.obj.account_id = self.plan.accounts[record.values["account_key"]].obj.pk
        insert_rows(Contact, [r.obj for r in new])
        self._bulk_update(Contact, [r for r in records if r.action == UPDATE], bump=False)
        for record in records:
            verb = "created" if record.action == CREATE else "updated"
            self.touched[self._account_key(record)][f"contact {verb}"] += 1

    def _write_deals(self, records: list[Record]) -> None:
        new = [r for r in records if r.action == CREATE]
        for record in new:
            record.obj.account_id = self.plan.accounts[record.values["account_key"]].obj.pk
            record.obj.team_id = self._team_of(record.obj.owner_id)
        insert_rows(Deal, [r.obj for r in new])
        self._bulk_update(Deal, [r for r in records if r.action == UPDATE and r.changed], bump=True)
        for record in records:
            verb = "created" if record.action == CREATE else "updated"
            self.touched[self._account_key(record)][f"deal {verb}"] += 1

    def _account_key(self, record: Record) -> tuple:
        return record.values["account_key"]

    def _bulk_update(self, model: type, records: list[Record], *, bump: bool) -> None:
        """One UPDATE per batch and set of changed fields (bulk_update's CASE per field)."""
        by_fields: dict[tuple[str, ...], list[Any]] = defaultdict(list)
        for record in records:
            names = list(record.changed)
            if bump:
                record.obj.version += 1
                names.append("version")
            if hasattr(record.obj, "updated_at"):
                record.obj.updated_at = self.now
                names.append("updated_at")
            by_fields[tuple(sorted(set(names)))].append(record.obj)
        for names, objs in by_fields.items():
            model.objects.bulk_update(objs, list(names), batch_size=500)

    def _write_links(self, links: list[tuple]) -> None:
        insert_rows(
            DealContact,
            [
                new_instance(
                    DealContact,
                    deal_id=self.plan.deals[deal_key].obj.pk,
                    contact_id=self.plan.contacts[contact_key].obj.pk,
                    role=role,
                )
                for deal_key, contact_key, role in links
            ],
        )
        for deal_key, _contact_key, _role in links:
            record = self.plan.deals[deal_key]
            if record.action == SKIP or (record.action == UPDATE and not record.changed):
                self.touched[record.values["account_key"]]["deal contact added"] += 1

    def _close_won(self, records: list[Record]) -> None:
        """The won deals of a job that starts hand-offs: closed one by one through
        deal_close, the browser's close gate (packet_pending_ok, as a CRM's close)."""
        for record in records:
            closed_on = record.values.get("close_on")
            if closed_on is None:
                continue
            try:
                # A savepoint: a close the gate refuses leaves the deal imported open, with
                # the reason in the summary, instead of failing the whole file.
                with transaction.atomic():
                    deal = deal_close(
                        actor=self.job.created_by,
                        deal=Deal.objects.get(pk=record.obj.pk),
                        outcome=Stage.WON,
                        closed_on=closed_on,
                        final_amount=record.values["amount"],
                        reason=f"Won in {self.job.get_source_display()} (imported from {self.job.file_name})",
                        packet_pending_ok=True,
                    )
            except (ValidationError, PermissionDenied) as refused:
                self.closes_refused.append([record.obj.title, _message_of(refused)])
                continue
            if deal.packet_pending_since is not None:
                self.packets_pending += 1
            else:
                self.handoffs_started += 1

    def write_events(self) -> None:
        """One "imported from <file>" event per account the import touched."""
        account_type = ContentType.objects.get_for_model(Account)
        events = []
        for key, counter in self.touched.items():
            account = self.plan.accounts[key].obj
            what = ", ".join(f"{name} ×{count}" if count > 1 else name for name, count in sorted(counter.items()))
            events.append(
                new_instance(
                    TimelineEvent,
                    account_id=account.pk,
                    subject_type_id=account_type.pk,
                    subject_id=account.pk,
                    actor_id=self.job.created_by_id,
                    verb=EventVerb.IMPORTED,
                    message=f"Imported from {self.job.file_name} (import #{self.job.pk}): {what}."[:500],
                    data={"import_job": self.job.pk, "counts": dict(counter)},
                )
            )
        insert_rows(TimelineEvent, events)


def insert_rows(model: type, objs: list[Any]) -> None:
    """Insert new rows set-based and give each object its id. On PostgreSQL: the ids
    taken from the table's sequence in one query, then the rows sent with COPY — several
    times faster than bulk_create, whose SQL compilation costs more per value than the
    insert itself. Elsewhere (SQLite): bulk_create."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=500)
        return
    table = model._meta.db_table
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(objs)]
        )
        ids = [row[0] for row in cursor.fetchall()]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        converters = [_copy_converter(f, now) for f in fields]
        attnames = [f.attname for f in fields]
        for obj, pk in zip(objs, ids, strict=True):
            obj.pk = pk
            obj._state.adding = False
            writer.writerow(
                [pk, *(convert(obj, getattr(obj, name)) for convert, name in zip(converters, attnames, strict=True))]
            )
        buffer.seek(0)
        columns = ", ".join(connection.ops.quote_name(name) for name in ["id", *(f.column for f in fields)])
        cursor.copy_expert(
            f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
        )


_NULL = "\\N"


def _copy_converter(model_field: Any, now: datetime.datetime):
    """How one field's value is written in COPY's CSV (NULL is \\N; "" stays "")."""
    internal = model_field.get_internal_type()
    if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):

        def stamp(obj: Any, value: Any) -> Any:
            value = now if model_field.auto_now or value is None else value
            setattr(obj, model_field.attname, value)
            return value.isoformat()

        return stamp
    if model_field.has_db_default():
        # A column with a database default the instance left unset (DatabaseDefault).
        default = getattr(model_field.db_default, "value", None)

        def database_default(obj: Any, value: Any) -> Any:
            value = (default if default is not None else now) if isinstance(value, DatabaseDefault) else value
            if isinstance(value, bool):
                return "t" if value else "f"
            return _NULL if value is None else (value.isoformat() if hasattr(value, "isoformat") else value)

        return database_default
    if internal == "JSONField":
        return lambda obj, value: _NULL if value is None else json.dumps(value)
    if internal == "BooleanField":
        return lambda obj, value: _NULL if value is None else ("t" if value else "f")
    if internal in ("DateField", "DateTimeField"):
        return lambda obj, value: _NULL if value is None else value.isoformat()
    return lambda obj, value: _NULL if value is None else value


def rejected_csv_rows(job: ImportJob) -> Iterator[list[str]]:
    """Header then one list per rejected row: line, reason, then the file's cells."""
    header = list(job.header)
    yield ["line", "reason", *header]
    rejected = ImportRejectedRow.objects.filter(job=job).order_by("line", "id")
    for row in rejected.iterator(chunk_size=2000):
        yield [str(row.line), row.reason, *(str(row.raw.get(column, "")) for column in header)]


__all__ = ["DryRunReport", "Plan", "RowOutcome", "plan_file", "rejected_csv_rows", "run_file"]
