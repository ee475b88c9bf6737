"""What the API of check-ins, the outbox and the dropped-baton report reads and writes.

Output serializers describe rows and figures the selectors already computed; input
serializers check shapes only, and the services decide (followups.services.checkins).
"""

from __future__ import annotations

from rest_framework import serializers

from accounts.api.serializers import StrictSerializer, VisibleRelatedField
from followups.choices import Channel, PulseAnswer, Sentiment
from followups.models import CheckIn, CheckInReschedule, OutboxMessage, WebhookEndpoint
from followups.rules import DROP_CODES
from followups.selectors.checkins import handoffs_open_to_checkins_for
from followups.selectors.report import LATENCY_METRICS
from handoffs.api.rows import RowsListSerializer
from handoffs.api.serializers import (
    AccountRefSerializer,
    ContactRefSerializer,
    DealRefSerializer,
    FlagField,
    UserRefSerializer,
)

# --- check-ins ------------------------------------------------------------------------


class CheckInSerializer(serializers.ModelSerializer):
    """A check-in of the rep with the customer after the hand-off."""

    account = AccountRefSerializer(read_only=True)
    deal = DealRefSerializer(source="handoff.deal", read_only=True)
    rep = UserRefSerializer(read_only=True)
    is_overdue = FlagField(help_text="Scheduled and past its due date (your today).")
    # Blank until logged (read-only model fields lose allow_blank in DRF).
    channel = serializers.ChoiceField(choices=Channel.choices, allow_blank=True, read_only=True)
    sentiment = serializers.ChoiceField(choices=Sentiment.choices, allow_blank=True, read_only=True)

    class Meta:
        model = CheckIn
        fields = [
            "id",
            "handoff",
            "deal",
            "account",
            "rep",
            "cadence_days",
            "due_on",
            "status",
            "is_overdue",
            "done_at",
            "channel",
            "sentiment",
            "notes",
            "issues_raised",
            "referral_asked",
            "repeat_business_asked",
            "opened_deal",
            "created_at",
        ]
        read_only_fields = fields
        list_serializer_class = RowsListSerializer


class CheckInRescheduleSerializer(serializers.ModelSerializer):
    """One move of a check-in's due date: from, to, why, by whom, when."""

    rescheduled_by = UserRefSerializer(read_only=True)

    class Meta:
        model = CheckInReschedule
        fields = ["id", "old_due_on", "new_due_on", "reason", "rescheduled_by", "created_at"]
        read_only_fields = fields


class CheckInDetailSerializer(CheckInSerializer):
    """A check-in with the history of its moves."""

    reschedules = CheckInRescheduleSerializer(many=True, read_only=True)

    class Meta(CheckInSerializer.Meta):
        fields = [*CheckInSerializer.Meta.fields, "reschedules"]
        read_only_fields = fields


class CheckInLogSerializer(StrictSerializer):
    """Logging a check-in: how the customer was reached, how they feel, what they raised,
    and whether a referral or repeat business was asked for (which may open a deal)."""

    channel = serializers.ChoiceField(choices=Channel.choices)
    sentiment = serializers.ChoiceField(choices=Sentiment.choices)
    notes = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")
    issues_raised = serializers.CharField(
        max_length=10000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Anything the customer is unhappy about: the delivery owner is notified.",
    )
    referral_asked = serializers.BooleanField(required=False, default=False)
    repeat_business_asked = serializers.BooleanField(required=False, default=False)
    open_deal = serializers.BooleanField(
        required=False, default=False, help_text="Open a new deal on the account (referral or repeat business)."
    )
    new_deal_title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class CheckInAddSerializer(StrictSerializer):
    """An extra check-in, outside the cadence, on an accepted hand-off whose rep's
    check-ins you work (followups.selectors.checkins.handoffs_open_to_checkins_for)."""

    handoff = VisibleRelatedField(visible=handoffs_open_to_checkins_for)
    due_on = serializers.DateField()


class CheckInMoveSerializer(StrictSerializer):
    """Moving a check-in to another day, with the reason."""

    new_due_on = serializers.DateField()
    reason = serializers.CharField(max_length=300)


# --- the outbox -----------------------------------------------------------------------


class WebhookEndpointRefSerializer(serializers.ModelSerializer):
    """The webhook endpoint a delivery goes to (followups.models.WebhookEndpoint)."""

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "name"]
        read_only_fields = fields


class OutboxMessageSerializer(serializers.ModelSerializer):
    """One message of the outbox (followups.models.OutboxMessage), as the admins' page
    shows it: an e-mail to a user or a contact, or a webhook delivery to an endpoint."""

    recipient = UserRefSerializer(read_only=True, allow_null=True)
    contact = ContactRefSerializer(read_only=True, allow_null=True)
    endpoint = WebhookEndpointRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = OutboxMessage
        fields = [
            "id",
            "purpose",
            "channel",
            "kind",
            "item_id",
            "version",
            "recipient",
            "contact",
            "endpoint",
            "recipient_key",
            "status",
            "send_after",
            "first_due_at",
            "attempts",
            "last_error",
            "sent_at",
            "message_id",
            "subject",
            "urgent",
            "response_code",
            "replay_of",
            "created_at",
        ]
        read_only_fields = fields


# --- the dropped-baton report -----------------------------------------------------------


def _counts_field(help_text: str) -> serializers.DictField:
    return serializers.DictField(child=serializers.IntegerField(), read_only=True, help_text=help_text)


class PeriodSerializer(serializers.Serializer):
    """A span of days, both ends included."""

    start = serializers.DateField(read_only=True)
    end = serializers.DateField(read_only=True)
    label = serializers.CharField(read_only=True, help_text="week, month, quarter, or empty for custom dates.")


class DropCodeRowSerializer(serializers.Serializer):
    """One kind of dropped baton: this period's count against the previous one's."""

    code = serializers.ChoiceField(choices=list(DROP_CODES), read_only=True)
    label = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    count = serializers.IntegerField(read_only=True)
    previous = serializers.IntegerField(read_only=True)
    change = serializers.IntegerField(read_only=True)


class BreakdownRowSerializer(serializers.Serializer):
    """One line of a table by rep, delivery owner or team."""

    id = serializers.IntegerField(source="key", read_only=True)
    name = serializers.CharField(read_only=True)
    counts = _counts_field("Drops per code in the period (codes with none are left out).")
    total = serializers.IntegerField(read_only=True)
    previous_total = serializers.IntegerField(read_only=True)
    change = serializers.IntegerField(read_only=True)


class LatencyFigureSerializer(serializers.Serializer):
    """Median and 90th percentile of one latency, in days, over `count` hand-offs."""

    median_days = serializers.FloatField(read_only=True, allow_null=True)
    p90_days = serializers.FloatField(read_only=True, allow_null=True)
    count = serializers.IntegerField(read_only=True)


class LatencyFiguresSerializer(serializers.Serializer):
    """The three latencies of a group of hand-offs."""

    days_to_accept = LatencyFigureSerializer(read_only=True, help_text=LATENCY_METRICS["days_to_accept"])
    days_to_meeting = LatencyFigureSerializer(read_only=True, help_text=LATENCY_METRICS["days_to_meeting"])
    days_to_first_checkin = LatencyFigureSerializer(read_only=True, help_text=LATENCY_METRICS["days_to_first_checkin"])


class LatencyRowSerializer(serializers.Serializer):
    """A group's latencies: everyone (id null), a rep or a team."""

    id = serializers.IntegerField(read_only=True, allow_null=True)
    name = serializers.CharField(read_only=True)
    figures = LatencyFiguresSerializer(read_only=True)


class LatencySerializer(serializers.Serializer):
    """Close → owner accepted, → meeting held, → first check-in done."""

    overall = LatencyRowSerializer(read_only=True)
    by_rep = LatencyRowSerializer(many=True, read_only=True)
    by_team = LatencyRowSerializer(many=True, read_only=True)


class TrendDatasetSerializer(serializers.Serializer):
    """One line of a weekly trend: a drop code or a latency metric, one value per week."""

    code = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    data = serializers.ListField(child=serializers.FloatField(allow_null=True), read_only=True)


class TrendSerializer(serializers.Serializer):
    """A weekly trend: the Mondays, and one dataset per line."""

    labels = serializers.ListField(child=serializers.DateField(), read_only=True)
    datasets = TrendDatasetSerializer(many=True, read_only=True)


class PulseRepSerializer(serializers.Serializer):
    """A rep's customers' pulse answers in the period."""

    name = serializers.CharField(read_only=True)
    counts = _counts_field("Answers per value: " + ", ".join(PulseAnswer.values) + ".")
    total = serializers.IntegerField(read_only=True)


class PulseSummarySerializer(serializers.Serializer):
    """The customers' pulse answers given in the period."""

    totals = _counts_field("Answers per value: " + ", ".join(PulseAnswer.values) + ".")
    total = serializers.IntegerField(read_only=True)
    by_rep = PulseRepSerializer(many=True, read_only=True)


class PacketWaiverRepSerializer(serializers.Serializer):
    """A rep's won closes of the period, and how many waived the hand-off packet."""

    name = serializers.CharField(read_only=True)
    waived = serializers.IntegerField(read_only=True)
    closes = serializers.IntegerField(read_only=True)


class PacketWaiversSerializer(serializers.Serializer):
    """Won closes of the period that went through without the full hand-off packet."""

    waived = serializers.IntegerField(read_only=True)
    closes = serializers.IntegerField(read_only=True)
    by_rep = PacketWaiverRepSerializer(many=True, read_only=True)


class PromiseKeepingSerializer(serializers.Serializer):
    """What became of the promises one person made in the period."""

    name = serializers.CharField(read_only=True)
    made = serializers.IntegerField(read_only=True)
    kept = serializers.IntegerField(read_only=True)
    broken = serializers.IntegerField(read_only=True)
    renegotiated = serializers.IntegerField(read_only=True)
    still_open = serializers.IntegerField(read_only=True)
    dropped = serializers.IntegerField(read_only=True)
    kept_share = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Kept, in percent of those kept or broken."
    )


class ReportSerializer(serializers.Serializer):
    """The dropped-baton report of a period, with the same figures as the /report/ page."""

    period = PeriodSerializer(read_only=True)
    previous_period = PeriodSerializer(read_only=True)
    refreshed_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the figures were last recomputed."
    )
    total = serializers.IntegerField(read_only=True)
    previous_total = serializers.IntegerField(read_only=True)
    by_code = DropCodeRowSerializer(many=True, read_only=True)
    by_rep = BreakdownRowSerializer(many=True, read_only=True)
    by_owner = BreakdownRowSerializer(many=True, read_only=True)
    by_team = BreakdownRowSerializer(many=True, read_only=True)
    trend = TrendSerializer(read_only=True)
    latency = LatencySerializer(read_only=True)
    latency_trend = TrendSerializer(read_only=True)
    pulse = PulseSummarySerializer(read_only=True)
    packet_waivers = PacketWaiversSerializer(read_only=True)
    promise_keeping = PromiseKeepingSerializer(many=True, read_only=True)


class ReportQuerySerializer(serializers.Serializer):
    """The report's period: this week, month or quarter, or custom dates (both ends
    included); optionally one of your teams. Checked by the page's own form
    (followups.forms_report.ReportPeriodForm)."""

    period = serializers.ChoiceField(choices=["week", "month", "quarter", "custom"], required=False)
    start = serializers.DateField(required=False, help_text="Custom: the first day.")
    end = serializers.DateField(required=False, help_text="Custom: the last day.")
    team = serializers.IntegerField(required=False, min_value=1, help_text="One of your teams (default: all).")
