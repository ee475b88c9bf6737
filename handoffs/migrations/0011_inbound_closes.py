# Placeholder reserved for a change in progress; its operations are filled in by that change.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("handoffs", "0010_external_ids_and_packet_pending"),
    ]

    operations: list = []
