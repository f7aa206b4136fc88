from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="TaskRun",
            fields=[
                ("id", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("queued_at", models.DateTimeField(null=True)),
                ("queued_by", models.CharField(blank=True, max_length=100)),
                ("started_at", models.DateTimeField(null=True)),
                ("started_by", models.CharField(blank=True, max_length=100)),
                ("started_release", models.CharField(blank=True, max_length=40)),
                ("starts", models.IntegerField(default=0)),
                ("finished_at", models.DateTimeField(null=True)),
                ("finished_by", models.CharField(blank=True, max_length=100)),
                ("finished_release", models.CharField(blank=True, max_length=40)),
                ("finishes", models.IntegerField(default=0)),
            ],
        ),
    ]
