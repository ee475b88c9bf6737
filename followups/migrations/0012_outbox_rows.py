"""One outbox for everything Baton sends (2 of 3: the rows).

The reminder outbox becomes the outbox of every message (the table is renamed, so every
reminder still unsent stays due), and what was still unsent in the other two ways Baton
used to send mail is carried into it: hand-off notices and meeting e-mails leased on
their own rows (handoffs.0007 then drops those columns), and weekly digests claimed in
their own table (dropped here).
"""

import datetime

from django.conf import settings
from django.db import migrations, models
from django.db.models import F, Q

PENDING, SENT = "pending", "sent"


def _row(OutboxMessage, *, purpose, kind, item_id, version, user_id=None, contact_id=None, now, status=PENDING):
    key = f"contact:{contact_id}" if contact_id else f"user:{user_id}"
    return OutboxMessage(
        purpose=purpose,
        channel="email",
        kind=kind,
        item_id=item_id,
        version=version,
        recipient_id=user_id,
        contact_id=contact_id,
        recipient_key=key,
        status=status,
        send_after=now,
        first_due_at=now,
        sent_at=now if status == SENT else None,
    )


def _version(moment):
    return int(moment.timestamp() * 1000)


def fill_reminder_columns(apps, schema_editor):
    OutboxMessage = apps.get_model("followups", "OutboxMessage")
    OutboxMessage.objects.filter(version__gt=1).update(purpose="escalation")
    OutboxMessage.objects.update(first_due_at=F("send_after"))
    for message in OutboxMessage.objects.only("id", "recipient_id").iterator():
        OutboxMessage.objects.filter(pk=message.pk).update(recipient_key=f"user:{message.recipient_id}")
    # Sent reminders not yet escalated become candidates, as the scan used to re-check them.
    Organisation = apps.get_model("accounts", "OrganisationSettings")
    org = Organisation.objects.order_by("pk").first()
    after = org.escalate_after_hours if org else 24
    to_admin = org.escalate_to_admin_after_hours if org else 0
    for level, hours in ((1, after), (2, to_admin)):
        if not hours:
            continue
        went_out = OutboxMessage.objects.filter(version=level, status__in=["sent", "failed"])
        escalated = OutboxMessage.objects.filter(version=level + 1).values("kind", "item_id")
        escalated_pairs = {(row["kind"], row["item_id"]) for row in escalated}
        for message in went_out.only("id", "kind", "item_id", "sent_at", "created_at").iterator():
            if (message.kind, message.item_id) in escalated_pairs:
                continue
            moment = message.sent_at or message.created_at
            OutboxMessage.objects.filter(pk=message.pk).update(escalate_at=moment + datetime.timedelta(hours=hours))


def carry_unsent_mail(apps, schema_editor):
    OutboxMessage = apps.get_model("followups", "OutboxMessage")
    Meeting = apps.get_model("handoffs", "Meeting")
    MeetingAttendee = apps.get_model("handoffs", "MeetingAttendee")
    Handoff = apps.get_model("handoffs", "Handoff")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    WeeklyDigest = apps.get_model("followups", "WeeklyDigest")
    now = datetime.datetime.now(datetime.UTC)
    rows = []

    invites_due = Meeting.objects.filter(status__in=["scheduled", "cancelled"]).filter(
        Q(invites_sent_sequence__isnull=True) | Q(invites_sent_sequence__lt=F("sequence"))
    )
    for meeting in invites_due:
        cancelled = meeting.status == "cancelled"
        if cancelled and meeting.invites_sent_sequence is None:
            continue  # never invited: no cancellation either
        for attendee in MeetingAttendee.objects.filter(meeting=meeting):
            rows.append(
                _row(
                    OutboxMessage,
                    purpose="cancellation" if cancelled else "invite",
                    kind="meeting",
                    item_id=meeting.pk,
                    version=meeting.sequence,
                    user_id=attendee.user_id,
                    contact_id=attendee.contact_id,
                    now=now,
                )
            )
        if cancelled:
            # What the cancellation builder looks for: an invite that went out before.
            for attendee in MeetingAttendee.objects.filter(meeting=meeting):
                rows.append(
                    _row(
                        OutboxMessage,
                        purpose="invite",
                        kind="meeting",
                        item_id=meeting.pk,
                        version=meeting.invites_sent_sequence,
                        user_id=attendee.user_id,
                        contact_id=attendee.contact_id,
                        now=now,
                        status=SENT,
                    )
                )
    for meeting in Meeting.objects.filter(status="held", summary_sent_at__isnull=True):
        for attendee in MeetingAttendee.objects.filter(meeting=meeting, contact__isnull=False):
            rows.append(
                _row(
                    OutboxMessage,
                    purpose="customer_summary",
                    kind="meeting",
                    item_id=meeting.pk,
                    version=0,
                    contact_id=attendee.contact_id,
                    now=now,
                )
            )
    proposals_due = Handoff.objects.filter(status="owner_proposed", proposed_at__isnull=False).filter(
        Q(proposal_notified_at__isnull=True) | Q(proposal_notified_at__lt=F("proposed_at"))
    )
    for handoff in proposals_due.exclude(proposed_owner__isnull=True):
        rows.append(
            _row(
                OutboxMessage,
                purpose="handoff_proposed",
                kind="handoff",
                item_id=handoff.pk,
                version=_version(handoff.proposed_at),
                user_id=handoff.proposed_owner_id,
                now=now,
            )
        )
    declines_due = Handoff.objects.filter(status="declined", declined_at__isnull=False).filter(
        Q(decline_notified_at__isnull=True) | Q(decline_notified_at__lt=F("declined_at"))
    )
    for handoff in declines_due:
        managers = set(
            User.objects.filter(pk__in=[handoff.proposed_by_id], is_active=True).values_list("pk", flat=True)
        )
        if handoff.team_id:
            managers |= set(
                User.objects.filter(managed_teams__pk=handoff.team_id, is_active=True).values_list("pk", flat=True)
            )
        managers.discard(handoff.declined_by_id)
        if not managers:
            managers = set(User.objects.filter(is_active=True, role="admin").values_list("pk", flat=True))
        for user_id in sorted(managers):
            rows.append(
                _row(
                    OutboxMessage,
                    purpose="decline_notice",
                    kind="handoff",
                    item_id=handoff.pk,
                    version=_version(handoff.declined_at),
                    user_id=user_id,
                    now=now,
                )
            )
    for digest in WeeklyDigest.objects.all():
        rows.append(
            _row(
                OutboxMessage,
                purpose="weekly_digest",
                kind="week",
                item_id=digest.week_start.toordinal(),
                version=0,
                user_id=digest.manager_id,
                now=now,
                status=SENT if digest.sent_at else PENDING,
            )
        )
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    # Apart from the schema changes before and after it: PostgreSQL refuses to ALTER a
    # table in the transaction that just updated its rows ("pending trigger events").
    dependencies = [
        ("followups", "0011_outbox"),
        ("handoffs", "0006_board_column_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(fill_reminder_columns, migrations.RunPython.noop),
        migrations.RunPython(carry_unsent_mail, migrations.RunPython.noop),
    ]
