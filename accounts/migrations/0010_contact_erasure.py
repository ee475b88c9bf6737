# Issue 15, personal data: when a contact was erased (followups.services.personal_data).
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0009_people")]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="erased_at",
            field=models.DateTimeField(
                blank=True, help_text="When an admin erased the contact's personal data.", null=True
            ),
        ),
    ]
