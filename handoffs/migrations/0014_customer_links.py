# Reserved for issue 15 (filled by the part that owns it).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0013_imports")]

    operations = []
