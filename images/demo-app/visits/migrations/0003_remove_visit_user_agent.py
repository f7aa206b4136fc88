# Release v3: drops the column v2 replicas still write, so running it before the last v2 replica
# is gone breaks their /visits/ (the migration gate's example of a breaking migration).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("visits", "0002_visit_user_agent")]

    operations = [
        migrations.RemoveField(model_name="visit", name="user_agent"),
    ]
