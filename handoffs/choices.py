"""Enumerations of the handoffs app."""

from django.db import models


class Stage(models.TextChoices):
    QUALIFY = "qualify", "Qualify"
    DISCOVER = "discover", "Discover"
    PROPOSE = "propose", "Propose"
    NEGOTIATE = "negotiate", "Negotiate"
    WON = "won", "Won"
    LOST = "lost", "Lost"


OPEN_STAGES = [Stage.QUALIFY, Stage.DISCOVER, Stage.PROPOSE, Stage.NEGOTIATE]
CLOSED_STAGES = [Stage.WON, Stage.LOST]


class Currency(models.TextChoices):
    EUR = "EUR", "EUR — Euro"
    USD = "USD", "USD — US dollar"
    GBP = "GBP", "GBP — Pound sterling"
    CHF = "CHF", "CHF — Swiss franc"
    CAD = "CAD", "CAD — Canadian dollar"
    AUD = "AUD", "AUD — Australian dollar"
    JPY = "JPY", "JPY — Japanese yen"
    SEK = "SEK", "SEK — Swedish krona"


class LeadSource(models.TextChoices):
    UNKNOWN = "", "Not recorded"
    INBOUND = "inbound", "Inbound (website, form)"
    OUTBOUND = "outbound", "Outbound prospecting"
    REFERRAL = "referral", "Referral"
    PARTNER = "partner", "Partner"
    EVENT = "event", "Event"
    EXISTING_CUSTOMER = "existing_customer", "Existing customer"


class LostReason(models.TextChoices):
    PRICE = "price", "Price"
    COMPETITOR = "competitor", "Went with a competitor"
    NO_DECISION = "no_decision", "No decision / stalled"
    TIMING = "timing", "Timing"
    FIT = "fit", "Product fit"
    OTHER = "other", "Other"


class ContactRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", "Decision maker"
    CHAMPION = "champion", "Champion"
    USER = "user", "User"
    FINANCE = "finance", "Finance"
    OTHER = "other", "Other"


class PromiseStatus(models.TextChoices):
    OPEN = "open", "Open"
    CONFIRMED = "confirmed", "Confirmed"
    KEPT = "kept", "Kept"
    BROKEN = "broken", "Broken"
    DROPPED = "dropped", "Dropped"


class StepOwnerRole(models.TextChoices):
    SALES = "sales", "Sales (the rep)"
    SALES_OPS = "sales_ops", "Sales ops"
    FINANCE = "finance", "Finance"
    DELIVERY = "delivery", "Delivery (the delivery owner)"
    MANAGER = "manager", "Manager"


class HandoffStatus(models.TextChoices):
    AWAITING_OWNER = "awaiting_owner", "Awaiting owner"
    OWNER_PROPOSED = "owner_proposed", "Owner proposed"
    DECLINED = "declined", "Declined — needs a new owner"
    ACCEPTED = "accepted", "Accepted"
    MEETING_SCHEDULED = "meeting_scheduled", "Meeting scheduled"
    MEETING_HELD = "meeting_held", "Meeting held"
    COMPLETE = "complete", "Complete"


class StepStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    HELD = "held", "Held"
    CANCELLED = "cancelled", "Cancelled"


class InboundKind(models.TextChoices):
    """The payload format of an inbound source (handoffs.inbound.mapping)."""

    HUBSPOT = "hubspot", "HubSpot workflow webhook"
    SALESFORCE = "salesforce", "Salesforce flow HTTP callout (JSON)"
    GENERIC = "generic", "Generic JSON"


class InboundOutcome(models.TextChoices):
    """What an inbound delivery did (blank while it is being processed)."""

    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    IGNORED = "ignored", "Ignored"
    REJECTED = "rejected", "Rejected"
    FAILED_TO_MAP = "failed_to_map", "Failed to map"
