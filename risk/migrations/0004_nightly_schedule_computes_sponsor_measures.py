"""The nightly schedule starts with the sponsor measures, which only risk can compute."""

from django.db import migrations

OLD_TASK = "scorecards.tasks.nightly_recompute"
NEW_TASK = "risk.tasks.nightly"


def point_at_risk_nightly(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task=OLD_TASK).update(task=NEW_TASK)


def point_back(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task=NEW_TASK).update(task=OLD_TASK)


class Migration(migrations.Migration):
    dependencies = [
        ("risk", "0003_risk_last_notified_on"),
        ("scorecards", "0004_nightly_schedule"),
    ]

    operations = [migrations.RunPython(point_at_risk_nightly, point_back)]
