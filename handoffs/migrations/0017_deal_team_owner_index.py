"""The deal list's owner filter (issue 17): an index on a deal's (team, owner),
so the owners of a team's deals are one index probe per user instead of a read of every
deal of the team (handoffs.access.deal_owners_visible_to). Partial (deals with a team),
so PostgreSQL cannot pick it to scan end to end for the visibility's OR of owner and team
(a rep's COUNT), which it answers from the owner and team indexes as before."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0016_search_prefix_indexes")]

    operations = [
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(
                condition=models.Q(team__isnull=False),
                fields=["team", "owner"],
                name="deal_team_owner_idx",
            ),
        ),
    ]
