# The timeline verb of imports (issue 14): "imported from <file>" on each account touched.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_api_tokens"),
    ]

    operations = [
        migrations.AlterField(
            model_name="timelineevent",
            name="verb",
            field=models.CharField(
                choices=[
                    ("account_created", "Account created"),
                    ("account_updated", "Account updated"),
                    ("owner_changed", "Owner changed"),
                    ("contact_added", "Contact added"),
                    ("contact_updated", "Contact updated"),
                    ("deal_created", "Deal created"),
                    ("deal_updated", "Deal updated"),
                    ("stage_moved", "Stage moved"),
                    ("next_step_set", "Next step set"),
                    ("deal_contact_added", "Contact added to deal"),
                    ("promise_added", "Promise added"),
                    ("promise_updated", "Promise updated"),
                    ("promise_kept", "Promise kept"),
                    ("promise_broken", "Promise broken"),
                    ("packet_waived", "Hand-off packet waived"),
                    ("deal_won", "Deal won"),
                    ("deal_lost", "Deal lost"),
                    ("deal_reopened", "Deal reopened"),
                    ("handoff_started", "Hand-off started"),
                    ("owner_proposed", "Delivery owner proposed"),
                    ("ownership_accepted", "Ownership accepted"),
                    ("ownership_declined", "Ownership declined"),
                    ("step_done", "Step done"),
                    ("step_skipped", "Step skipped"),
                    ("step_reopened", "Step reopened"),
                    ("meeting_scheduled", "Meeting scheduled"),
                    ("meeting_rescheduled", "Meeting rescheduled"),
                    ("meeting_cancelled", "Meeting cancelled"),
                    ("meeting_held", "Meeting recorded"),
                    ("summary_sent", "Customer summary sent"),
                    ("handoff_completed", "Hand-off completed"),
                    ("checkin_scheduled", "Check-in scheduled"),
                    ("checkin_logged", "Check-in logged"),
                    ("checkin_rescheduled", "Check-in rescheduled"),
                    ("pulse_sent", "Customer pulse sent"),
                    ("pulse_answered", "Customer pulse answered"),
                    ("reminder_sent", "Reminder sent"),
                    ("escalated", "Escalated"),
                    ("imported", "Imported"),
                ],
                max_length=32,
            ),
        ),
    ]
