"""CS Ops manage webhook endpoints and read the delivery log; the sweep runs every minute."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CS_OPS_PERMISSIONS = [
    "events.add_webhookendpoint",
    "events.change_webhookendpoint",
    "events.delete_webhookendpoint",
    "events.view_webhookendpoint",
    "events.view_delivery",
    "events.change_delivery",
    "events.view_event",
]
SWEEP_TASK = "events.tasks.deliveries_sweep"


def grant_cs_ops(apps, schema_editor):
    app_config = apps.get_app_config("events")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="CS Ops")
    for code in CS_OPS_PERMISSIONS:
        app_label, codename = code.split(".")
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


def create_sweep_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.get_or_create(
        name="Outbound events sweep: lost fan-outs and due retries",
        defaults={"task": SWEEP_TASK, "interval": every_minute, "enabled": True},
    )


def create_data(apps, schema_editor):
    grant_cs_ops(apps, schema_editor)
    create_sweep_schedule(apps, schema_editor)


def remove_data(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=SWEEP_TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0001_outbox_endpoints_deliveries"),
        ("accounts", "0002_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_data, remove_data)]
