# Issue 15: customer status links that can be revoked and resent (handoffs.models.CustomerLink).
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("handoffs", "0013_imports"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CustomerLink",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "version",
                    models.PositiveIntegerField(default=1, help_text="The only version whose tokens are valid."),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "issued_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now,
                        help_text="When the current version was made (revoked or sent afresh).",
                    ),
                ),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "last_sent_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="When an e-mail carrying the current version was last sent.",
                        null=True,
                    ),
                ),
                (
                    "contact",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="customer_links",
                        to="accounts.contact",
                    ),
                ),
                (
                    "handoff",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="customer_links",
                        to="handoffs.handoff",
                    ),
                ),
                (
                    "revoked_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["handoff", "contact"],
                "constraints": [
                    models.UniqueConstraint(fields=("handoff", "contact"), name="customer_link_once"),
                    models.CheckConstraint(
                        condition=models.Q(("version__gte", 1)), name="customer_link_version_positive"
                    ),
                ],
            },
        ),
    ]
