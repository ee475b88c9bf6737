# Issue 15: two-factor sign-in (accounts.two_factor). The devices themselves are
# django-otp's tables (otp_totp, otp_static); Baton adds only the organisation's switch.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_audit_log")]

    operations = [
        migrations.AddField(
            model_name="organisationsettings",
            name="two_factor_required_for_staff",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="Managers and admins must sign in with two-factor; they set it up at their next sign-in.",
            ),
        ),
    ]
