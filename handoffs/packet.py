"""The hand-off packet, defined once: what a won close must bring along (the close gate).

A won deal is handed to people who were not in the sale. The packet is what they need
to pick it up without calling the rep back: the lead source and the four context
fields, the customer contacts with their role on the deal, and the promises listed (or
"no promises were made" said explicitly). Which parts are required is the
organisation's choice (OrganisationSettings.gate_requires_context, gate_min_contacts,
gate_requires_promises); a part switched off is not in the packet at all.

deal_packet() is the one place that says what a deal's packet holds and lacks. The deal
page's checklist, the close form, deal_close (which refuses a won close without it), the
hand-off brief and any later importer read it from here; none of them counts contacts or
checks context fields of its own.

A waiver lets a won close through with parts missing: a reason written by whoever logs
the close (the rep, their manager or an admin), kept on the deal with who and when, and
on the timeline (EventVerb.PACKET_WAIVED). It may cover any missing part: the gate exists
so that a close without the packet is a decision someone signs, not an accident; the
brief shows the waiver to the delivery owner and the dropped-baton report counts it.

A close that comes from outside Baton (a CRM's webhook, handoffs.inbound) cannot be
refused: the CRM already says won. deal_close(packet_pending_ok=True) then records the
deal won with its packet *pending* (Deal.packet_pending_since) and no hand-off yet; the
rep is told what is missing. packet_pending() / packet_pending_q() below are the one rule
for "is the packet pending", read by the services, the deal page, My day and the inbound
mapping. The hand-off starts as soon as the packet is complete (every service that
changes a part re-checks, handoffs.services.packet_pending) or when a manager waives it
(deal_packet_pending_waive, packet_pending_waivable_by).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import reverse

from accounts.models import OrganisationSettings, User
from handoffs.access import deal_editable_by
from handoffs.choices import PromiseStatus, Stage
from handoffs.models import Deal

# The packet's context: the lead source and the four context fields of the domain
# (where they came from, what they already know, who they have talked to, what they need).
PACKET_CONTEXT_FIELDS = ("lead_source", "context_origin", "context_known", "context_talked_to", "context_needs")
PACKET_KEYS = ("context", "contacts", "promises")


@dataclass(frozen=True)
class PacketItem:
    """One required part of the packet: `ok` or not, what it holds now (`status`), what
    is missing (`message`, empty when ok) and where to fix it (`fix_url`, `fix_label`)."""

    key: str
    label: str
    ok: bool
    status: str
    message: str
    fix_url: str
    fix_label: str


@dataclass(frozen=True)
class Packet:
    """The required parts of a deal's packet, in the order the page lists them."""

    items: tuple[PacketItem, ...]

    @property
    def missing(self) -> list[PacketItem]:
        return [item for item in self.items if not item.ok]

    @property
    def complete(self) -> bool:
        return not self.missing

    def errors(self) -> dict[str, str]:
        """A clear message per missing part, keyed by the part (context, contacts, promises)."""
        return {item.key: item.message for item in self.missing}


def deal_packet(deal: Deal, *, settings: OrganisationSettings | None = None) -> Packet:
    """What `deal`'s hand-off packet holds and lacks, under the organisation's gate.

    Reads deal.deal_contacts and deal.promises through .all(), so a page that prefetched
    them (handoffs.selectors.deals.deal_for_detail) pays no query for it."""
    settings = settings or OrganisationSettings.load()
    items: list[PacketItem] = []
    if settings.gate_requires_context:
        items.append(_context_item(deal))
    if settings.gate_min_contacts > 0:
        items.append(_contacts_item(deal, minimum=settings.gate_min_contacts))
    if settings.gate_requires_promises:
        items.append(_promises_item(deal))
    return Packet(items=tuple(items))


def packet_pending(deal: Deal) -> bool:
    """Whether `deal` was recorded won with its packet incomplete and its hand-off is
    waiting for the packet (or a manager's waiver). The one rule; packet_pending_q is
    the same rule for a queryset."""
    return deal.stage == Stage.WON and deal.packet_pending_since is not None


def packet_pending_q(prefix: str = "") -> Q:
    """packet_pending() as a filter; `prefix` names the deal from another model ("deal__")."""
    return Q(**{f"{prefix}stage": Stage.WON, f"{prefix}packet_pending_since__isnull": False})


def packet_pending_waivable_by(user: User, deal: Deal) -> bool:
    """A pending packet is waived by a manager who may change the deal, or an admin: the
    rep cannot sign away the packet of a close they did not log themselves."""
    return (user.is_manager or user.is_admin_role) and deal_editable_by(user, deal)


def packet_errors_split(error: ValidationError) -> tuple[list[str], ValidationError | None]:
    """Split a service's ValidationError into the packet parts it refused and the rest
    (None when nothing else was wrong), so a form can show the parts with their links."""
    if not hasattr(error, "error_dict"):
        return [], error
    refused = [key for key in PACKET_KEYS if key in error.error_dict]
    rest = {field: errors for field, errors in error.error_dict.items() if field not in PACKET_KEYS}
    return refused, (ValidationError(rest) if rest else None)


def _deal_url(deal: Deal, anchor: str) -> str:
    return f"{reverse('handoffs:deal_detail', args=[deal.pk])}#{anchor}"


def _context_item(deal: Deal) -> PacketItem:
    empty = [field for field in PACKET_CONTEXT_FIELDS if not str(getattr(deal, field) or "").strip()]
    labels = [str(Deal._meta.get_field(field).verbose_name) for field in empty]
    filled = len(PACKET_CONTEXT_FIELDS) - len(empty)
    return PacketItem(
        key="context",
        label="Lead source and context",
        ok=not empty,
        status=f"{filled} of {len(PACKET_CONTEXT_FIELDS)} filled",
        message=f"Fill in the lead source and context: {', '.join(labels)} {'is' if len(labels) == 1 else 'are'} empty."
        if empty
        else "",
        fix_url=f"{reverse('handoffs:deal_edit', args=[deal.pk])}#context",
        fix_label="Fill in the context",
    )


def _contacts_item(deal: Deal, *, minimum: int) -> PacketItem:
    named = len(deal.deal_contacts.all())
    people = "contact" if minimum == 1 else "contacts"
    return PacketItem(
        key="contacts",
        label="Customer contacts with their role",
        ok=named >= minimum,
        status=f"{named} of {minimum} named",
        message=f"Name at least {minimum} customer {people} with their role on the deal ({named} named so far)."
        if named < minimum
        else "",
        fix_url=_deal_url(deal, "contacts"),
        fix_label="Add contacts to the deal",
    )


def _promises_item(deal: Deal) -> PacketItem:
    listed = sum(1 for promise in deal.promises.all() if promise.status != PromiseStatus.DROPPED)
    if listed:
        status = f"{listed} listed"
    elif deal.no_promises_made:
        status = "No promises were made"
    else:
        status = "None listed"
    ok = bool(listed) or deal.no_promises_made
    return PacketItem(
        key="promises",
        label="Promises to the customer",
        ok=ok,
        status=status,
        message="" if ok else "List the promises made to the customer, or state that no promises were made.",
        fix_url=_deal_url(deal, "promises"),
        fix_label="List the promises",
    )
