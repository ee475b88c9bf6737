# Reserved for issue 15 (filled by the part that owns it).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0008_two_factor")]

    operations = []
