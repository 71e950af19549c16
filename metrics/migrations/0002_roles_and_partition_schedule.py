"""Who may declare metrics and push their values (PRODUCT.md Roles), and the beat schedule that
creates the metric values' month partitions ahead."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "CSM": ["metrics.view_metric", "metrics.view_metricvalue"],
    "CS Leader": ["metrics.view_metric", "metrics.view_metricvalue"],
    "CS Ops": [
        "metrics.view_metric",
        "metrics.add_metric",
        "metrics.change_metric",
        "metrics.view_metricvalue",
    ],
    "Integration": [
        "metrics.view_metric",
        "metrics.add_metric",
        "metrics.change_metric",
        "metrics.view_metricvalue",
        "metrics.add_metricvalue",
        "metrics.change_metricvalue",
    ],
}
TASK = "metrics.tasks.metric_value_partitions_ensure"


def grant(apps, schema_editor):
    app_config = apps.get_app_config("metrics")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        codenames = [code.split(".")[1] for code in codes]
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="metrics", codename__in=codenames)
        )

    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="1", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name="Create the metric values' month partitions ahead",
        defaults={"task": TASK, "crontab": crontab, "enabled": True},
    )


def revoke(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="metrics"))


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0001_initial"),
        ("accounts", "0002_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
