"""The columns of the followups app's list exports: check-ins and the outbox
(accounts.common.exports writes them as CSV or XLSX).

Each list's columns are declared once, as the `values_list` lookups they read, so an
export reads only these columns of the list page's own queryset, in one query whatever
the number of rows.
"""

from __future__ import annotations

from accounts.common.exports import BOOLEAN, DATE, DATETIME, NUMBER, column, label_of, person_lookups, person_name
from followups.choices import Channel, CheckInStatus, MessageChannel, MessagePurpose, MessageStatus, Sentiment


def _recipient(first_name, last_name, username, contact_first, contact_last, contact_email, endpoint) -> str:
    """Who a message is for: a colleague, a customer contact, or a webhook endpoint."""
    if username:
        return person_name(first_name, last_name, username)
    if contact_first or contact_last or contact_email:
        name = f"{contact_first or ''} {contact_last or ''}".strip()
        return f"{name} <{contact_email}>" if contact_email else name
    return endpoint or ""


CHECKIN_COLUMNS = [
    column("ID", "pk", kind=NUMBER),
    column("Account", "account__name"),
    column("Deal", "handoff__deal__title"),
    column("Rep", *person_lookups("rep"), value=person_name),
    column("Delivery owner", *person_lookups("handoff__delivery_owner"), value=person_name),
    column("Due on", "due_on", kind=DATE),
    column("Status", "status", value=label_of(CheckInStatus.choices)),
    # The pages' "overdue" (followups.lateness.checkin_late, on the user's today).
    column("Overdue", "is_overdue", kind=BOOLEAN),
    column("Done at", "done_at", kind=DATETIME),
    column("Channel", "channel", value=label_of(Channel.choices)),
    column("Sentiment", "sentiment", value=label_of(Sentiment.choices)),
    column("Notes", "notes"),
    column("Issues raised", "issues_raised"),
    column("Referral asked", "referral_asked", kind=BOOLEAN),
    column("Repeat business asked", "repeat_business_asked", kind=BOOLEAN),
]

OUTBOX_COLUMNS = [
    column("ID", "pk", kind=NUMBER),
    column("Created", "created_at", kind=DATETIME),
    column("Purpose", "purpose", value=label_of(MessagePurpose.choices)),
    column("Channel", "channel", value=label_of(MessageChannel.choices)),
    column("Status", "status", value=label_of(MessageStatus.choices)),
    column("About", "kind"),
    column("Item ID", "item_id", kind=NUMBER),
    column(
        "Recipient",
        *person_lookups("recipient"),
        "contact__first_name",
        "contact__last_name",
        "contact__email",
        "endpoint__name",
        value=_recipient,
    ),
    column("Subject", "subject"),
    column("Urgent", "urgent", kind=BOOLEAN),
    column("Attempts", "attempts", kind=NUMBER),
    column("Send after", "send_after", kind=DATETIME),
    column("Sent at", "sent_at", kind=DATETIME),
    column("Last error", "last_error"),
]
