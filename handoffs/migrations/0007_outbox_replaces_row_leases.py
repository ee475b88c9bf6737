"""The hand-off's e-mails go through the one outbox (followups.0012 carried what was
still unsent into it): the lease and "sent" columns on the rows go."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("handoffs", "0006_board_column_indexes"),
        ("followups", "0013_outbox_constraints"),
    ]

    operations = [
        migrations.RemoveField(model_name="handoff", name="proposal_notified_at"),
        migrations.RemoveField(model_name="handoff", name="decline_notified_at"),
        migrations.RemoveField(model_name="handoff", name="notices_claimed_at"),
        migrations.RemoveField(model_name="meeting", name="invites_sent_sequence"),
        migrations.RemoveField(model_name="meeting", name="invites_claimed_at"),
        migrations.RemoveField(model_name="meeting", name="summary_sent_at"),
        migrations.RemoveField(model_name="meeting", name="summary_claimed_at"),
    ]
