# Placeholder reserved for a change in progress; its operations are filled in by that change.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0015_webhooks"),
    ]

    operations: list = []
