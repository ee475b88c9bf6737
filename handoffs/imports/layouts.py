"""The CSV layouts Baton knows: the column names Salesforce, HubSpot and Pipedrive use in
their exports, mapped to Baton's fields, and the guesses made at the upload (the source,
what a row is, a column mapping the user then corrects).

A column maps to one Baton field (FIELDS); columns mapped to "" are ignored. Headers are
compared case-insensitively, with surrounding spaces and a UTF-8 BOM stripped.

Salesforce: the report exports ("Opportunity Name", "Account Name", "Stage"…) and the
Data Loader's API names ("Id", "Name", "StageName", "AccountId"…). HubSpot: the
exports of deals, companies and contacts ("Record ID", "Deal Name", "Deal Stage",
"Associated Company"…). Pipedrive: the exports with "<Object> - <Field>" columns
("Deal - Title", "Organization - Name", "Person - Email"…). In the three, the id of the
row's own object is its external id; a deals export that carries the company's or the
contact's id ("Associated Company ID", "Account ID", "Organization - ID") matches those too.
"""

from __future__ import annotations

from handoffs.imports.choices import ImportKind, ImportSource

# Every field a column may map to: (field, label). "owner" is a user's e-mail or name.
FIELDS: list[tuple[str, str]] = [
    ("account.external_id", "Account: id in the source"),
    ("account.name", "Account: name"),
    ("account.domain", "Account: domain or website"),
    ("account.industry", "Account: industry"),
    ("account.address", "Account: address"),
    ("contact.external_id", "Contact: id in the source"),
    ("contact.first_name", "Contact: first name"),
    ("contact.last_name", "Contact: last name"),
    ("contact.full_name", "Contact: full name"),
    ("contact.email", "Contact: e-mail"),
    ("contact.phone", "Contact: phone"),
    ("contact.title", "Contact: job title"),
    ("contact.role", "Contact: role on the deal"),
    ("deal.external_id", "Deal: id in the source"),
    ("deal.title", "Deal: title"),
    ("deal.amount", "Deal: amount"),
    ("deal.currency", "Deal: currency"),
    ("deal.stage", "Deal: stage"),
    ("deal.status", "Deal: status (open, won, lost)"),
    ("deal.close_date", "Deal: close date (expected, or when won)"),
    ("deal.next_step", "Deal: next step"),
    ("deal.next_step_due", "Deal: next step date"),
    ("deal.lead_source", "Deal: lead source"),
    ("deal.segment", "Deal: segment"),
    ("deal.context_needs", "Deal: what they need (description)"),
    ("owner", "Owner (e-mail or name)"),
]
FIELD_NAMES = frozenset(name for name, _ in FIELDS)

# What a file of each kind must map (each inner tuple: at least one of them).
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    ImportKind.DEALS: [("deal.title",), ("deal.amount",), ("account.name", "account.external_id", "account.domain")],
    ImportKind.CONTACTS: [
        ("contact.first_name", "contact.last_name", "contact.full_name", "contact.email"),
        ("account.name", "account.external_id", "account.domain"),
    ],
    ImportKind.ACCOUNTS: [("account.name",)],
}

# The object whose id a source's bare id column ("Id", "Record ID") is, by kind.
_OWN_ID = {
    ImportKind.DEALS: "deal.external_id",
    ImportKind.CONTACTS: "contact.external_id",
    ImportKind.ACCOUNTS: "account.external_id",
}
OWN_ID = "@own_id"  # an alias target resolved by the file's kind (guess_mapping)

_COMMON = {
    "owner": ["owner", "owner email", "owner e-mail", "deal owner", "account owner", "contact owner"],
    "contact.email": ["email", "e-mail", "email address", "contact email"],
    "contact.first_name": ["first name", "firstname", "contact first name"],
    "contact.last_name": ["last name", "lastname", "contact last name"],
    "contact.phone": ["phone", "phone number", "mobile", "mobile phone"],
    "contact.title": ["title", "job title"],
    "account.industry": ["industry"],
    "deal.amount": ["amount", "value", "deal value"],
    "deal.currency": ["currency"],
    "deal.lead_source": ["lead source", "source"],
    "deal.next_step": ["next step"],
}

ALIASES: dict[str, dict[str, list[str]]] = {
    ImportSource.SALESFORCE: {
        OWN_ID: ["id"],
        "deal.external_id": ["opportunity id", "opportunity: id"],
        "deal.title": ["opportunity name", "opportunity: name"],
        "deal.stage": ["stage", "stagename", "opportunity stage"],
        "deal.amount": ["amount", "opportunity amount"],
        "deal.currency": ["opportunity currency", "currencyisocode", "amount currency"],
        "deal.close_date": ["close date", "closedate"],
        "deal.next_step": ["next step", "nextstep"],
        "deal.lead_source": ["lead source", "leadsource"],
        "deal.segment": ["type", "opportunity type"],
        "deal.context_needs": ["description", "opportunity description"],
        "account.external_id": ["account id", "accountid", "account: id"],
        "account.name": ["account name", "account: account name", "company", "company / account"],
        "account.domain": ["website", "account website"],
        "account.industry": ["industry", "account industry"],
        "account.address": ["billing street", "billingstreet", "billing address"],
        "contact.external_id": ["contact id", "contactid", "contact: id"],
        "contact.first_name": ["first name", "firstname", "contact: first name"],
        "contact.last_name": ["last name", "lastname", "contact: last name"],
        "contact.email": ["email", "contact: email", "contact email"],
        "contact.phone": ["phone", "contact: phone"],
        "contact.title": ["title", "contact: title"],
        "contact.role": ["contact role", "role"],
        "owner": [
            "opportunity owner",
            "account owner",
            "contact owner",
            "owner email",
            "opportunity owner email",
            "owner",
            "ownerid",
        ],
    },
    ImportSource.HUBSPOT: {
        OWN_ID: ["record id", "hs_object_id"],
        "deal.external_id": ["deal id", "deal record id"],
        "deal.title": ["deal name", "dealname"],
        "deal.stage": ["deal stage", "dealstage"],
        "deal.amount": ["amount", "deal amount"],
        "deal.currency": ["currency", "deal currency code"],
        "deal.close_date": ["close date", "closedate"],
        "deal.next_step": ["next step", "hs_next_step"],
        "deal.lead_source": ["original source", "original source type", "lead source"],
        "deal.segment": ["deal type", "dealtype"],
        "deal.context_needs": ["deal description", "description"],
        "account.external_id": ["associated company id", "associated company ids", "company id", "company record id"],
        "account.name": ["associated company", "company name", "company", "associated company name"],
        "account.domain": ["company domain name", "domain", "website url", "website"],
        "account.industry": ["industry"],
        "account.address": ["street address", "address"],
        "contact.external_id": ["associated contact id", "associated contact ids", "contact id", "contact record id"],
        "contact.first_name": ["first name", "firstname"],
        "contact.last_name": ["last name", "lastname"],
        "contact.full_name": ["associated contact", "contact name"],
        "contact.email": ["email", "associated contact email"],
        "contact.phone": ["phone number", "phone"],
        "contact.title": ["job title", "jobtitle"],
        "contact.role": ["contact role", "buying role"],
        "owner": ["deal owner", "company owner", "contact owner", "hubspot owner", "owner", "owner email"],
    },
    ImportSource.PIPEDRIVE: {
        "deal.external_id": ["deal - id"],
        "deal.title": ["deal - title", "title"],
        "deal.amount": ["deal - value", "value"],
        "deal.currency": ["deal - currency", "currency"],
        "deal.stage": ["deal - stage", "stage"],
        "deal.status": ["deal - status", "status"],
        "deal.close_date": ["deal - expected close date", "expected close date", "deal - won time", "won time"],
        "deal.next_step": ["deal - next activity subject", "next activity subject"],
        "deal.next_step_due": ["deal - next activity date", "next activity date"],
        "deal.lead_source": ["deal - source channel", "deal - source", "deal - lead source", "source channel"],
        "account.external_id": ["organization - id", "deal - organization id", "person - organization id"],
        "account.name": ["organization - name", "deal - organization", "person - organization", "organization"],
        "account.address": ["organization - address", "address"],
        "account.domain": ["organization - website", "website"],
        "contact.external_id": ["person - id", "deal - contact person id"],
        "contact.full_name": ["person - name", "deal - contact person", "contact person", "name"],
        "contact.first_name": ["person - first name", "first name"],
        "contact.last_name": ["person - last name", "last name"],
        "contact.email": [
            "person - email - work",
            "person - email",
            "person - email - home",
            "person - email - other",
            "email",
        ],
        "contact.phone": ["person - phone - work", "person - phone", "person - phone - mobile", "phone"],
        "contact.title": ["person - job title", "job title"],
        "owner": ["deal - owner", "organization - owner", "person - owner", "owner"],
    },
    ImportSource.GENERIC: {
        "deal.external_id": ["deal id", "deal external id", "external id"],
        "deal.title": ["deal", "deal title", "deal name", "title"],
        "deal.stage": ["stage", "deal stage"],
        "deal.status": ["status", "deal status"],
        "deal.close_date": ["close date", "closed on", "expected close date"],
        "deal.next_step_due": ["next step due", "next step date"],
        "deal.segment": ["segment"],
        "deal.context_needs": ["needs", "description"],
        "account.external_id": ["account id", "company id"],
        "account.name": ["account", "account name", "company", "company name", "organization"],
        "account.domain": ["domain", "website", "company website"],
        "account.address": ["address"],
        "contact.external_id": ["contact id", "person id"],
        "contact.full_name": ["contact", "contact name", "name"],
        "contact.email": ["contact email", "contact e-mail"],
        "owner": ["owner email", "owner e-mail", "owner"],
        "contact.role": ["role", "contact role"],
    },
}

# Headers that only one source writes: enough to recognise the file.
_SIGNATURES: dict[str, list[str]] = {
    ImportSource.SALESFORCE: [
        "opportunity name",
        "opportunity id",
        "opportunity owner",
        "stagename",
        "accountid",
        "account id",
        "billing street",
        "closedate",
    ],
    ImportSource.HUBSPOT: [
        "record id",
        "deal name",
        "deal stage",
        "associated company",
        "company domain name",
        "deal owner",
        "associated company ids",
        "pipeline",
        "hs_object_id",
    ],
    ImportSource.PIPEDRIVE: ["deal - title", "deal - value", "organization - name", "person - name", "deal - id"],
}


def normalise_header(column: str) -> str:
    return " ".join(column.replace("\ufeff", "").strip().lower().split())


def guess_source(header: list[str]) -> str:
    """The source whose signature columns the header has most of (generic when none)."""
    names = {normalise_header(column) for column in header}
    best, best_score = ImportSource.GENERIC, 0
    for source, signature in _SIGNATURES.items():
        score = len(names & set(signature))
        if score > best_score:
            best, best_score = source, score
    # Pipedrive's "<Object> - <Field>" columns give it away even outside the signature.
    if best == ImportSource.GENERIC and sum(" - " in name for name in names) >= 2:
        best = ImportSource.PIPEDRIVE
    return str(best)


def _alias_table(source: str) -> list[tuple[str, str]]:
    """(alias, field) pairs, the source's own first, then the common and generic ones."""
    pairs: list[tuple[str, str]] = []
    for table in (ALIASES.get(source, {}), _COMMON, ALIASES[ImportSource.GENERIC]):
        for field, aliases in table.items():
            pairs.extend((alias, field) for alias in aliases)
    return pairs


def guess_kind_from_header(source: str, header: list[str]) -> str:
    mapping = guess_mapping(source, header, kind=ImportKind.DEALS)
    return guess_kind(mapping)


def guess_kind(mapping: dict[str, str]) -> str:
    """Deals when a deal field is mapped (its id, title or amount), else contacts when a
    person is, else accounts."""
    fields = set(mapping.values())
    if fields & {"deal.title", "deal.external_id", "deal.amount", "deal.stage", "deal.status"}:
        return str(ImportKind.DEALS)
    if fields & {"contact.first_name", "contact.last_name", "contact.full_name", "contact.email"}:
        return str(ImportKind.CONTACTS)
    return str(ImportKind.ACCOUNTS)


# Columns that take their field before any other column naming it: an owner is matched
# by e-mail far more surely than by name (Salesforce exports carry both).
_PREFERRED = {"owner email": "owner", "owner e-mail": "owner", "opportunity owner email": "owner"}


def guess_mapping(source: str, header: list[str], *, kind: str | None = None) -> dict[str, str]:
    """{column: field or ""} for every column: the first alias that names it, each field
    used once (the leftmost column wins, but an owner's e-mail column wins over its name).
    The bare id column ("Id", "Record ID") becomes the external id of the row's own
    object (`kind`, else guessed from the other columns)."""
    table = _alias_table(source)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for column in header:
        preferred = _PREFERRED.get(normalise_header(column))
        if preferred and preferred not in used:
            mapping[column] = preferred
            used.add(preferred)
    for column in header:
        if column in mapping:
            continue
        name = normalise_header(column)
        field = next((target for alias, target in table if alias == name and target not in used), "")
        mapping[column] = field
        if field:
            used.add(field)
    if OWN_ID in used:
        kind = kind or guess_kind(mapping)
        own = _OWN_ID[kind]
        for column, field in mapping.items():
            if field == OWN_ID:
                mapping[column] = "" if own in used else own
    return mapping


# A deal exported by a CRM needs its stage too: it alone says whether the deal is open, won
# or lost (an export without it would bring won deals in as open ones). A hand-made file
# ("any CSV") may leave it out: its deals are open.
_DEAL_STAGE = ("deal.stage", "deal.status")


def required(kind: str, source: str | None = None) -> list[tuple[str, ...]]:
    """What a file of `kind` from `source` must map (each tuple: at least one of them)."""
    needs = list(REQUIRED[kind])
    if kind == ImportKind.DEALS and source in (ImportSource.SALESFORCE, ImportSource.HUBSPOT, ImportSource.PIPEDRIVE):
        needs.append(_DEAL_STAGE)
    return needs


def missing_required(kind: str, mapping: dict[str, str], *, source: str | None = None) -> list[str]:
    """The required fields (labels, "a or b" for alternatives) the mapping lacks."""
    fields = set(mapping.values())
    labels = dict(FIELDS)
    return [
        " or ".join(labels[name] for name in alternatives)
        for alternatives in required(kind, source)
        if not fields & set(alternatives)
    ]


# What each CRM calls its deals export, and the column that carries each required field
# of a deal in it: for the report of a deals export that lacks them.
_DEALS_EXPORT = {
    ImportSource.SALESFORCE: "Salesforce opportunities",
    ImportSource.HUBSPOT: "HubSpot deals",
    ImportSource.PIPEDRIVE: "Pipedrive deals",
    ImportSource.GENERIC: "deals",
}
_DEAL_COLUMN = {
    ImportSource.SALESFORCE: {
        "deal.title": "Opportunity Name",
        "deal.amount": "Amount",
        "deal.stage": "Stage",
        "account.name": "Account Name",
    },
    ImportSource.HUBSPOT: {
        "deal.title": "Deal Name",
        "deal.amount": "Amount",
        "deal.stage": "Deal Stage",
        "account.name": "Associated Company",
    },
    ImportSource.PIPEDRIVE: {
        "deal.title": "Deal - Title",
        "deal.amount": "Deal - Value",
        "deal.stage": "Deal - Status",
        "account.name": "Organization - Name",
    },
}


def looks_like_deals(source: str, header: list[str]) -> bool:
    """Whether the header is a deals export's: a deal's own id column ("Opportunity ID",
    "Deal - ID"…), or an amount column next to a close date."""
    # Without a kind: a bare "Record ID" is the id of whatever the other columns say a row is.
    fields = set(guess_mapping(source, header).values())
    return "deal.external_id" in fields or {"deal.amount", "deal.close_date"} <= fields


def deals_export_lacks(source: str, header: list[str], mapping: dict[str, str]) -> str:
    """When the file looks like a deals export (looks_like_deals) but the mapping lacks what
    a deal needs, the report of it — "This looks like a Salesforce opportunities export but
    it lacks: Opportunity Name, Stage." — else "". Whatever kind the user chose: such a
    file is not imported as something else until its deals' columns are mapped."""
    if not looks_like_deals(source, header):
        return ""
    fields = set(mapping.values())
    columns = _DEAL_COLUMN.get(source, {})
    labels = dict(FIELDS)
    lacking = [
        columns.get(alternatives[0]) or " or ".join(labels[name] for name in alternatives)
        for alternatives in required(ImportKind.DEALS, source)
        if not fields & set(alternatives)
    ]
    if not lacking:
        return ""
    return f"This looks like a {_DEALS_EXPORT.get(source, 'deals')} export but it lacks: {', '.join(lacking)}."
