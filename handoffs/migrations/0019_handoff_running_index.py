"""My hand-offs' "Mine, in progress" read in order (issue 17): a delivery
lead's hand-offs that are not complete, newest close first."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0018_deal_account_visibility_indexes")]

    operations = [
        migrations.AddIndex(
            model_name="handoff",
            index=models.Index(
                condition=models.Q(("status", "complete"), _negated=True),
                fields=["delivery_owner", "-closed_on", "-id"],
                name="handoff_owner_running_idx",
            ),
        ),
    ]
