"""One outbox for everything Baton sends (3 of 3: its rules and indexes; the weekly
digest's own claim table goes, its rows carried into the outbox by 0012)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0012_outbox_rows"),
    ]

    operations = [
        migrations.AlterField(
            model_name="outboxmessage",
            name="first_due_at",
            field=models.DateTimeField(
                help_text="When the message first became due; a retry moves send_after, never this (for /health/)."
            ),
        ),
        migrations.AddConstraint(
            model_name="outboxmessage",
            constraint=models.UniqueConstraint(
                fields=("purpose", "kind", "item_id", "version", "recipient_key"), name="outbox_message_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="outboxmessage",
            constraint=models.CheckConstraint(
                condition=models.Q(("recipient__isnull", False), ("contact__isnull", False), _connector="OR"),
                name="outbox_message_has_recipient",
            ),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(
                condition=models.Q(("status", "pending")), fields=["send_after"], name="outbox_pending_due_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(
                condition=models.Q(("status", "sending")), fields=["lease_expires_at"], name="outbox_lease_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(fields=["status", "-created_at"], name="outbox_status_created_idx"),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(fields=["kind", "item_id", "version"], name="outbox_item_idx"),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(
                condition=models.Q(("escalate_at__isnull", False)), fields=["escalate_at"], name="outbox_escalate_idx"
            ),
        ),
        migrations.DeleteModel(name="WeeklyDigest"),
    ]
