# Placeholder reserved for a change in progress; its operations are filled in by that change.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_external_ids"),
    ]

    operations: list = []
