"""Seed the default hand-off playbook, so that a fresh install hands off won deals at once."""

from django.db import migrations

STANDARD_STEPS = [
    # (title, owner role, due offset in days from the close, required)
    ("Contract countersigned and filed", "sales_ops", 1, True),
    ("Hand-off brief reviewed by the delivery owner", "delivery", 2, True),
    ("Customer introduced to the delivery owner", "sales", 2, True),
    ("Invoice and billing set up", "finance", 3, True),
    ("Kick-off prepared (plan, people, access)", "delivery", 5, True),
    ("Kick-off held with the customer", "delivery", 7, True),
    ("Welcome pack sent", "sales_ops", 7, False),
]


def seed_default_playbook(apps, schema_editor):
    Playbook = apps.get_model("handoffs", "Playbook")
    PlaybookStep = apps.get_model("handoffs", "PlaybookStep")
    if Playbook.objects.filter(is_default=True).exists():
        return
    playbook = Playbook.objects.create(name="Standard hand-off", is_default=True, checkin_cadence=[7, 30, 90])
    PlaybookStep.objects.bulk_create(
        [
            PlaybookStep(
                playbook=playbook,
                position=position,
                title=title,
                owner_role=owner_role,
                due_offset_days=offset,
                required=required,
            )
            for position, (title, owner_role, offset, required) in enumerate(STANDARD_STEPS, start=1)
        ]
    )


def remove_default_playbook(apps, schema_editor):
    apps.get_model("handoffs", "Playbook").objects.filter(name="Standard hand-off", is_default=True).delete()


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0002_handoff_outbox_fields")]

    operations = [migrations.RunPython(seed_default_playbook, remove_default_playbook)]
