"""One outbox for everything Baton sends (1 of 3: the table).

The reminder outbox becomes the outbox of every message (the table is renamed, so every
reminder still unsent stays due), and what was still unsent in the other two ways Baton
used to send mail is carried into it: hand-off notices and meeting e-mails leased on
their own rows (handoffs.0007 then drops those columns), and weekly digests claimed in
their own table (dropped here).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("handoffs", "0006_board_column_indexes"),
        ("followups", "0010_checkin_done_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="reminder", name="reminder_once_per_item_and_level"),
        migrations.RemoveConstraint(model_name="reminder", name="reminder_level_1_to_3"),
        migrations.RemoveIndex(model_name="reminder", name="reminder_pending_due_idx"),
        migrations.RemoveIndex(model_name="reminder", name="reminder_lease_idx"),
        migrations.RemoveIndex(model_name="reminder", name="reminder_status_created_idx"),
        migrations.RenameModel(old_name="Reminder", new_name="OutboxMessage"),
        migrations.RenameField(model_name="outboxmessage", old_name="level", new_name="version"),
        migrations.AlterField(
            model_name="outboxmessage",
            name="version",
            field=models.PositiveBigIntegerField(
                default=0,
                help_text="Which state of the item: a reminder's level (1 the owner, 2 their manager, 3 an admin), "
                "a meeting's SEQUENCE, the time of a proposal or a decline.",
            ),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="kind",
            field=models.CharField(
                help_text="What item_id names: a ReminderKind for reminders and escalations; "
                "meeting, handoff, notification or week for the other purposes.",
                max_length=32,
            ),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="item_id",
            field=models.PositiveBigIntegerField(help_text="Primary key of the item (its table depends on kind)."),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="recipient",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="outbox_messages",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("sending", "Sending"),
                    ("sent", "Sent"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                ],
                default="pending",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="purpose",
            field=models.CharField(
                choices=[
                    ("reminder", "Reminder"),
                    ("escalation", "Escalation"),
                    ("notification", "Notification (check-in issue, hand-off news)"),
                    ("invite", "Meeting invite"),
                    ("cancellation", "Meeting cancellation"),
                    ("customer_summary", "Customer summary"),
                    ("handoff_proposed", "Hand-off proposed"),
                    ("decline_notice", "Hand-off declined"),
                    ("weekly_digest", "Weekly digest"),
                ],
                default="reminder",
                max_length=32,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="channel",
            field=models.CharField(choices=[("email", "E-mail")], default="email", max_length=16),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="contact",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="outbox_messages",
                to="accounts.contact",
            ),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="recipient_key",
            field=models.CharField(
                default="",
                help_text="user:<id> or contact:<id>: the recipient, in the uniqueness key.",
                max_length=40,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="first_due_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="lease_token",
            field=models.UUIDField(blank=True, help_text="The claim that holds the row while sending.", null=True),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="subject",
            field=models.CharField(blank=True, help_text="The subject line it was sent with.", max_length=300),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="escalate_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Reminders and escalations: when the next level is due if the item is still overdue "
                "(cleared once the scan has looked).",
                null=True,
            ),
        ),
    ]
