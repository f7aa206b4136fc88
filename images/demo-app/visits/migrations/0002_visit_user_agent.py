# Release v2: nullable, so v1 replicas' INSERTs (which don't name the column) keep working.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("visits", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="visit",
            name="user_agent",
            field=models.CharField(blank=True, max_length=300, null=True),
        ),
    ]
