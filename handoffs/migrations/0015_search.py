# Reserved for issue 16's global search (filled by the part that owns it).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0014_customer_links")]

    operations = []
