"""The account visibility rule's deal arms (issue 17): indexes on a deal's
(team, account) and (owner, account), so the accounts of a team's or a user's deals come
from an index-only scan instead of a read of every deal page of the team
(handoffs.access.accounts_visible_to)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0017_deal_team_owner_index")]

    operations = [
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(fields=["team", "account"], name="deal_team_account_idx"),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(fields=["owner", "account"], name="deal_owner_account_idx"),
        ),
    ]
