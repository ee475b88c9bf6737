"""What the API of deals, promises, hand-offs and meetings reads and writes.

Output serializers describe rows the selectors loaded (select_related, prefetches and
annotations decided there), so a list runs no query per row. Input serializers only
check shapes and types; every rule (who may, which states, which dates) stays in the
services, whose ValidationError and PermissionDenied the central exception handler turns
into the API's error body.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import StrictSerializer, VisibleRelatedField
from accounts.common.http import MAX_ID
from accounts.models import User
from handoffs.access import accounts_visible_to
from handoffs.api.fields import FlagField
from handoffs.api.rows import RowsListSerializer
from handoffs.choices import (
    OPEN_STAGES,
    ContactRole,
    Currency,
    HandoffStatus,
    LeadSource,
    LostReason,
    Stage,
)
from handoffs.models import Deal, DealContact, Handoff, HandoffStep, Meeting, MeetingAttendee, Promise
from handoffs.packet import Packet
from handoffs.selectors.handoffs import delivery_lead_choices
from handoffs.services.handoffs import PROMISE_DECISIONS


class EmptySerializer(StrictSerializer):
    """A body that carries nothing (accept, complete, a step done): any key is refused."""


# --- references to other rows -------------------------------------------------------


def active_users():
    """Whom a body may name as a deal's owner; deal_create / deal_update decide whether
    the actor may give it to them (accounts.access.account_users_assignable_by)."""
    return User.objects.filter(is_active=True)


class IdField(serializers.IntegerField):
    """A row id in a request body: a positive integer a PostgreSQL bigint holds."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class UserRefSerializer(serializers.Serializer):
    """A team user as other rows name them: id and display name."""

    id = serializers.IntegerField(read_only=True)
    # The user's str (User.__str__): a plain field, so that lists write it on their fast
    # path (handoffs.api.rows), where a method field would send them through DRF's.
    name = serializers.CharField(source="*", read_only=True)


class AccountRefSerializer(serializers.Serializer):
    """A customer account as other rows name it."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class DealRefSerializer(serializers.Serializer):
    """A deal as other rows name it."""

    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)


class ContactRefSerializer(serializers.Serializer):
    """A customer contact as other rows name it."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="full_name", read_only=True)
    email = serializers.CharField(read_only=True)


# --- the hand-off packet --------------------------------------------------------------


class PacketItemSerializer(serializers.Serializer):
    """One part of the hand-off packet (handoffs.packet.PacketItem): whether it is there,
    what it holds now and, when missing, what to do."""

    key = serializers.ChoiceField(choices=["context", "contacts", "promises"], read_only=True)
    label = serializers.CharField(read_only=True)
    ok = serializers.BooleanField(read_only=True)
    status = serializers.CharField(read_only=True)
    message = serializers.CharField(read_only=True)


class PacketSerializer(serializers.Serializer):
    """The required parts of a deal's hand-off packet under the organisation's gate."""

    complete = serializers.BooleanField(read_only=True)
    items = PacketItemSerializer(many=True, read_only=True)
    missing = PacketItemSerializer(many=True, read_only=True)


def packet_data(packet: Packet) -> dict:
    return {"complete": packet.complete, "items": list(packet.items), "missing": packet.missing}


# --- promises ---------------------------------------------------------------------------


class PromiseSerializer(serializers.ModelSerializer):
    """A promise made to the customer, from the sale through delivery."""

    owner = UserRefSerializer(read_only=True, allow_null=True)
    resolved_by = UserRefSerializer(read_only=True, allow_null=True)
    created_by = UserRefSerializer(read_only=True, allow_null=True)
    is_late = FlagField(help_text="Open or confirmed, and past its due date.")

    class Meta:
        model = Promise
        fields = [
            "id",
            "deal",
            "description",
            "target_date",
            "status",
            "original_description",
            "status_note",
            "reviewed_at",
            "owner",
            "resolved_on",
            "resolution_note",
            "customer_told",
            "resolved_by",
            "created_by",
            "created_at",
            "is_late",
        ]
        read_only_fields = fields
        list_serializer_class = RowsListSerializer


class PromiseCreateSerializer(StrictSerializer):
    """A promise added to a deal: what, by when, and (after the hand-off) who keeps it."""

    description = serializers.CharField(max_length=300)
    target_date = serializers.DateField(required=False, allow_null=True, default=None)
    owner = VisibleRelatedField(
        visible=lambda user: delivery_lead_choices(),
        required=False,
        allow_null=True,
        default=None,
        help_text="A delivery lead who keeps it (after the hand-off).",
    )


class PromiseKeptSerializer(StrictSerializer):
    """When the promise was kept (not after today) and how."""

    kept_on = serializers.DateField()
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class PromiseBrokenSerializer(StrictSerializer):
    """Why the promise will not be kept, and what the customer was told."""

    reason = serializers.CharField(max_length=2000)
    customer_told = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class PromiseRenegotiateSerializer(StrictSerializer):
    """The wording and due date the customer agreed to (the first wording is kept)."""

    new_wording = serializers.CharField(max_length=300)
    new_due = serializers.DateField(allow_null=True)


# --- deals ------------------------------------------------------------------------------

DEAL_ROW_FIELDS = [
    "id",
    "title",
    "account",
    "owner",
    "team",
    "amount",
    "currency",
    "stage",
    "segment",
    "expected_close_date",
    "lead_source",
    "context_origin",
    "context_known",
    "context_talked_to",
    "context_needs",
    "next_step",
    "next_step_due",
    "next_step_is_late",
    "contact_count",
    "closed_on",
    "close_reason",
    "lost_reason",
    "no_promises_made",
    "packet_pending_since",
    "packet_waiver_reason",
    "packet_waived_at",
    "external_source",
    "external_id",
    "version",
    "created_at",
    "updated_at",
]


class DealSerializer(serializers.ModelSerializer):
    """A deal as the list shows it (handoffs.selectors.deals.deal_list_queryset)."""

    account = AccountRefSerializer(read_only=True)
    owner = UserRefSerializer(read_only=True)
    next_step_is_late = FlagField(help_text="Open, and its next step is overdue.")
    contact_count = serializers.IntegerField(read_only=True, help_text="Customer contacts named on the deal.")
    # Blank until a close says lost (read-only model fields lose allow_blank in DRF).
    lost_reason = serializers.ChoiceField(choices=LostReason.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Deal
        fields = DEAL_ROW_FIELDS
        read_only_fields = fields
        list_serializer_class = RowsListSerializer


class DealContactSerializer(serializers.ModelSerializer):
    """A customer contact named on a deal, with their role on it."""

    contact = ContactRefSerializer(read_only=True)

    class Meta:
        model = DealContact
        fields = ["id", "contact", "role"]
        read_only_fields = fields


class HandoffRefSerializer(serializers.Serializer):
    """A hand-off as other rows name it."""

    id = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=HandoffStatus.choices, read_only=True)


class DealDetailSerializer(DealSerializer):
    """A deal with its contacts, promises, hand-off and (while open or pending) its
    hand-off packet (handoffs.selectors.deals.deal_for_detail)."""

    contact_count = serializers.SerializerMethodField()
    packet_waived_by = UserRefSerializer(read_only=True, allow_null=True)
    contacts = DealContactSerializer(source="deal_contacts", many=True, read_only=True)
    promises = PromiseSerializer(many=True, read_only=True)
    handoff = serializers.SerializerMethodField()
    packet = serializers.SerializerMethodField()

    class Meta(DealSerializer.Meta):
        fields = [*DEAL_ROW_FIELDS, "packet_waived_by", "contacts", "promises", "handoff", "packet"]
        read_only_fields = fields

    def get_contact_count(self, deal: Deal) -> int:
        return len(deal.deal_contacts.all())

    @extend_schema_field(HandoffRefSerializer(allow_null=True))
    def get_handoff(self, deal: Deal) -> dict | None:
        handoff = getattr(deal, "handoff", None)
        return HandoffRefSerializer(handoff).data if handoff is not None else None

    @extend_schema_field(PacketSerializer(allow_null=True))
    def get_packet(self, deal: Deal) -> dict | None:
        packet = self.context.get("packet")
        return PacketSerializer(packet_data(packet)).data if packet is not None else None


class DealCreateSerializer(StrictSerializer):
    """A new deal on an account the user may read. It starts in an open stage with a
    next step whose date is not in the past (deal_create checks it)."""

    account = VisibleRelatedField(visible=accounts_visible_to, help_text="An account you may read.")
    owner = VisibleRelatedField(
        visible=lambda user: active_users(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Default: you. Managers and admins give deals to their team.",
    )
    title = serializers.CharField(max_length=200)
    amount = serializers.DecimalField(max_digits=15, decimal_places=2, required=False)
    currency = serializers.ChoiceField(choices=Currency.choices, required=False)
    stage = serializers.ChoiceField(
        choices=[(stage.value, stage.label) for stage in OPEN_STAGES],
        required=False,
        help_text="An open stage: won and lost go through the close.",
    )
    segment = serializers.CharField(max_length=50, required=False, allow_blank=True)
    expected_close_date = serializers.DateField(required=False, allow_null=True)
    lead_source = serializers.ChoiceField(choices=LeadSource.choices, required=False, allow_blank=True)
    context_origin = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    context_known = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    context_talked_to = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    context_needs = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    next_step = serializers.CharField(max_length=300)
    next_step_due = serializers.DateField()


class DealUpdateSerializer(DealCreateSerializer):
    """A change of some of a deal's fields (PATCH), carrying the `version` it was read
    at: refused with 409 if someone saved the deal since."""

    account = None
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    title = serializers.CharField(max_length=200, required=False)
    next_step = serializers.CharField(max_length=300, required=False)
    next_step_due = serializers.DateField(required=False)


class DealMoveStageSerializer(StrictSerializer):
    """A move to another open stage (won and lost go through the close)."""

    stage = serializers.ChoiceField(choices=Stage.choices)
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False, allow_null=True, default=None)


class DealContactAddSerializer(StrictSerializer):
    """A contact of the deal's account to name on the deal, with their role."""

    contact = IdField()
    role = serializers.ChoiceField(choices=ContactRole.choices, default=ContactRole.OTHER)


class DealCloseSerializer(StrictSerializer):
    """Log the close: won or lost, when, for how much, and why."""

    outcome = serializers.ChoiceField(choices=[(Stage.WON.value, "Won"), (Stage.LOST.value, "Lost")])
    closed_on = serializers.DateField()
    final_amount = serializers.DecimalField(max_digits=15, decimal_places=2)
    reason = serializers.CharField(max_length=2000, help_text="Won: what made them buy. Lost: a note.")
    lost_reason = serializers.ChoiceField(choices=LostReason.choices, required=False, allow_blank=True, default="")
    packet_waiver_reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why a won close goes ahead without its full hand-off packet (signed by you).",
    )
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False, allow_null=True, default=None)


class NoPromisesSerializer(StrictSerializer):
    """State (true) or withdraw (false) that no promises were made: the packet's explicit
    answer when there is no promise to list."""

    no_promises_made = serializers.BooleanField()


class PacketPendingWaiveSerializer(StrictSerializer):
    """Why the hand-off of a won deal starts without the parts its packet still lacks."""

    reason = serializers.CharField(max_length=1000)


class DealCloseResultSerializer(serializers.Serializer):
    """What a close did: the deal as it is now, and for a won close whether its hand-off
    started or waits for the packet (and what is missing)."""

    deal = DealSerializer(read_only=True)
    outcome = serializers.ChoiceField(choices=[Stage.WON.value, Stage.LOST.value], read_only=True)
    handoff_started = serializers.BooleanField(read_only=True)
    handoff = HandoffRefSerializer(read_only=True, allow_null=True)
    packet_pending = serializers.BooleanField(
        read_only=True, help_text="Won, but the hand-off waits until the packet is complete or waived."
    )
    packet_missing = PacketItemSerializer(many=True, read_only=True)
    packet_waived = serializers.BooleanField(read_only=True)


# --- hand-offs, steps, meetings -----------------------------------------------------------


class HandoffStepSerializer(serializers.ModelSerializer):
    """A step of a hand-off, with its owner and whether it is late."""

    assignee = UserRefSerializer(read_only=True, allow_null=True)
    done_by = UserRefSerializer(read_only=True, allow_null=True)
    is_late = FlagField(help_text="Open and past its due date.")

    class Meta:
        model = HandoffStep
        fields = [
            "id",
            "handoff",
            "position",
            "title",
            "owner_role",
            "assignee",
            "required",
            "due_on",
            "status",
            "done_by",
            "done_at",
            "skip_reason",
            "is_late",
        ]
        read_only_fields = fields


class MeetingAttendeeSerializer(serializers.ModelSerializer):
    """Someone invited to a meeting (a team user or a customer contact) and, once
    recorded, whether they attended."""

    user = UserRefSerializer(read_only=True, allow_null=True)
    contact = ContactRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = MeetingAttendee
        fields = ["id", "user", "contact", "attended"]
        read_only_fields = fields


class MeetingSerializer(serializers.ModelSerializer):
    """The three-way hand-off meeting, its attendees and, once recorded, what was agreed."""

    organizer = UserRefSerializer(read_only=True)
    recorded_by = UserRefSerializer(read_only=True, allow_null=True)
    attendees = MeetingAttendeeSerializer(many=True, read_only=True)

    class Meta:
        model = Meeting
        fields = [
            "id",
            "handoff",
            "uid",
            "sequence",
            "starts_at",
            "duration_minutes",
            "location",
            "status",
            "organizer",
            "held_at",
            "recorded_by",
            "notes",
            "counts_as_handoff_meeting",
            "attendees",
            "created_at",
        ]
        read_only_fields = fields


HANDOFF_ROW_FIELDS = [
    "id",
    "deal",
    "account",
    "status",
    "closed_on",
    "rep",
    "team",
    "proposed_owner",
    "proposed_at",
    "delivery_owner",
    "accepted_at",
    "declined_at",
    "decline_reason",
    "meeting_held_at",
    "completed_at",
    "is_overdue",
    "overdue_step_count",
    "created_at",
    "updated_at",
]


class HandoffSerializer(serializers.ModelSerializer):
    """A hand-off as the list shows it, with whether it is overdue (a step past its
    date, or no owner accepted or no meeting scheduled in time)."""

    deal = DealRefSerializer(read_only=True)
    account = AccountRefSerializer(source="deal.account", read_only=True)
    rep = UserRefSerializer(read_only=True)
    proposed_owner = UserRefSerializer(read_only=True, allow_null=True)
    delivery_owner = UserRefSerializer(read_only=True, allow_null=True)
    is_overdue = FlagField()
    overdue_step_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Handoff
        fields = HANDOFF_ROW_FIELDS
        read_only_fields = fields
        list_serializer_class = RowsListSerializer


class PlaybookRefSerializer(serializers.Serializer):
    """A playbook as a hand-off names it."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class HandoffDetailSerializer(HandoffSerializer):
    """A hand-off with its steps, meetings, the deal's promises and contacts."""

    playbook = PlaybookRefSerializer(read_only=True, allow_null=True)
    proposed_by = UserRefSerializer(read_only=True, allow_null=True)
    declined_by = UserRefSerializer(read_only=True, allow_null=True)
    steps = HandoffStepSerializer(many=True, read_only=True)
    meetings = MeetingSerializer(many=True, read_only=True)
    promises = PromiseSerializer(source="deal.promises", many=True, read_only=True)
    contacts = DealContactSerializer(source="deal.deal_contacts", many=True, read_only=True)

    class Meta(HandoffSerializer.Meta):
        fields = [
            *HANDOFF_ROW_FIELDS,
            "playbook",
            "proposed_by",
            "declined_by",
            "agreement",
            "steps",
            "meetings",
            "promises",
            "contacts",
        ]
        read_only_fields = fields


class ProposeOwnerSerializer(StrictSerializer):
    """The delivery lead who should take the account."""

    owner = VisibleRelatedField(visible=lambda user: delivery_lead_choices(), help_text="An active delivery lead.")


class DeclineSerializer(StrictSerializer):
    """Why the proposed delivery lead declines."""

    reason = serializers.CharField(max_length=1000)


class StepSkipSerializer(StrictSerializer):
    """Why the step is skipped."""

    reason = serializers.CharField(max_length=300)


class MeetingTimeSerializer(StrictSerializer):
    """When and where the meeting is. Give the time with its offset
    (2026-12-03T14:00:00+01:00)."""

    starts_at = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField(min_value=5, max_value=480, default=45)
    location = serializers.CharField(max_length=300, help_text="A room, an address or a video link.")


class MeetingScheduleSerializer(MeetingTimeSerializer):
    """The three-way meeting: the rep and the delivery owner are invited with the
    customer contacts named here (at least one, each with an e-mail address)."""

    contacts = serializers.ListField(child=IdField(), max_length=50, help_text="Contacts of the deal's account.")


class MeetingCancelSerializer(StrictSerializer):
    """Why the meeting is called off (optional)."""

    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class PromiseReviewSerializer(StrictSerializer):
    """One promise's review in the meeting: confirmed, renegotiated (new wording) or
    dropped (with a reason)."""

    promise = IdField()
    decision = serializers.ChoiceField(choices=list(PROMISE_DECISIONS))
    new_wording = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class MeetingRecordSerializer(StrictSerializer):
    """Who attended (among those invited), what was agreed, and the promises' review."""

    attended_users = serializers.ListField(child=IdField(), max_length=50, required=False, default=list)
    attended_contacts = serializers.ListField(child=IdField(), max_length=50, required=False, default=list)
    agreement = serializers.CharField(max_length=10000, help_text="What delivery will do, by when.")
    promise_reviews = PromiseReviewSerializer(many=True, required=False, default=list, max_length=200)
