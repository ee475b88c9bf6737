"""The columns of the handoffs app's list exports: deals, accounts, contacts, hand-offs
and promises (accounts.common.exports writes them as CSV or XLSX).

Each list's columns are declared once, as the `values_list` lookups they read, so an
export reads only these columns of the list page's own queryset (its selector and its
filters), in one query whatever the number of rows. The deal list's "Contacts" count is
left out: it is a subquery per row (100,000 index probes, and a plan costly enough for
PostgreSQL to spend ~2 s compiling it with JIT at 100k deals), for a figure the deal's
page shows.
"""

from __future__ import annotations

from accounts.choices import CompanySize
from accounts.common.exports import BOOLEAN, DATE, DATETIME, NUMBER, column, label_of, person_lookups, person_name
from handoffs.choices import HandoffStatus, PromiseStatus, Stage

DEAL_COLUMNS = [
    column("ID", "pk", kind=NUMBER),
    column("Deal", "title"),
    column("Account", "account__name"),
    column("Stage", "stage", value=label_of(Stage.choices)),
    column("Amount", "amount", kind=NUMBER),
    column("Currency", "currency"),
    column("Next step", "next_step"),
    column("Next step due", "next_step_due", kind=DATE),
    # The list's own "overdue" marker (handoffs.lateness, asked about the user's today).
    column("Next step overdue", "next_step_is_late", kind=BOOLEAN),
    column("Expected close", "expected_close_date", kind=DATE),
    column("Closed on", "closed_on", kind=DATE),
    column("Owner", *person_lookups("owner"), value=person_name),
    column("Created", "created_at", kind=DATETIME),
]

ACCOUNT_COLUMNS = [
    column("ID", "pk", kind=NUMBER),
    column("Account", "name"),
    column("Domain", "domain"),
    column("Industry", "industry"),
    column("Size", "size", value=label_of(CompanySize.choices)),
    column("Owner", *person_lookups("owner"), value=person_name),
    column("Team", "team__name"),
    column("Open deals", "open_deal_count", kind=NUMBER),
    column("Contacts", "contact_count", kind=NUMBER),
    column("Health", "health_score", kind=NUMBER),
    column("Created", "created_at", kind=DATETIME),
]

CONTACT_COLUMNS = [
    column("ID", "pk", kind=NUMBER),
    column("First name", "first_name"),
    column("Last name", "last_name"),
    column("Title", "title"),
    column("Email", "email"),
    column("Phone", "phone"),
    column("Account", "account__name"),
    column("Account ID", "account_id", kind=NUMBER),
    column("Created", "created_at", kind=DATETIME),
]

HANDOFF_COLUMNS = [
    column("ID", "pk", kind=NUMBER),
    column("Deal", "deal__title"),
    column("Account", "deal__account__name"),
    column("Status", "status", value=label_of(HandoffStatus.choices)),
    column("Closed on", "closed_on", kind=DATE),
    column("Rep", *person_lookups("rep"), value=person_name),
    column("Proposed owner", *person_lookups("proposed_owner"), value=person_name),
    column("Delivery owner", *person_lookups("delivery_owner"), value=person_name),
    column("Team", "team__name"),
    column("Accepted at", "accepted_at", kind=DATETIME),
    column("Meeting held at", "meeting_held_at", kind=DATETIME),
    column("Completed at", "completed_at", kind=DATETIME),
    # The list's "overdue" marker (handoffs.selectors.handoffs.with_overdue).
    column("Overdue", "is_overdue", kind=BOOLEAN),
]

PROMISE_COLUMNS = [
    column("ID", "pk", kind=NUMBER),
    column("Deal", "deal__title"),
    column("Deal ID", "deal_id", kind=NUMBER),
    column("Account", "deal__account__name"),
    column("Promise", "description"),
    column("Due", "target_date", kind=DATE),
    column("Status", "status", value=label_of(PromiseStatus.choices)),
    column("Late", "is_late", kind=BOOLEAN),
    column("Owner", *person_lookups("owner"), value=person_name),
    column("Resolved on", "resolved_on", kind=DATE),
    column("How kept / why broken", "resolution_note"),
    column("Customer told", "customer_told"),
    column("Created", "created_at", kind=DATETIME),
]
