"""Roles as groups with their permissions (PRODUCT.md, Roles)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW_EVERYTHING = [
    "accounts.view_account",
    "accounts.view_contact",
    "accounts.view_touchpoint",
    "accounts.view_renewaloutcome",
    "scorecards.view_scorecard",
    "scorecards.view_scorecardversion",
    "scorecards.view_band",
    "scorecards.view_measure",
    "scorecards.view_measuregroup",
    "scorecards.view_scorecardmeasure",
    "scorecards.view_exceptionrule",
    "scorecards.view_measurevalue",
    "scorecards.view_scoresnapshot",
    "scorecards.view_scorerun",
    "risk.view_risk",
    "risk.view_riskevent",
    "risk.view_riskrule",
]

SCORECARD_DESIGN = [
    f"scorecards.{verb}_{model}"
    for model in (
        "scorecard",
        "band",
        "measure",
        "measuregroup",
        "scorecardmeasure",
        "exceptionrule",
    )
    for verb in ("add", "change", "delete")
]

SCHEDULES = [
    f"django_celery_beat.{verb}_{model}"
    for model in (
        "periodictask",
        "crontabschedule",
        "intervalschedule",
        "clockedschedule",
        "solarschedule",
    )
    for verb in ("add", "change", "delete", "view")
]

ROLE_PERMISSIONS = {
    "CSM": VIEW_EVERYTHING
    + [
        "accounts.add_contact",
        "accounts.change_contact",
        "accounts.add_touchpoint",
        "accounts.change_touchpoint",
        "scorecards.add_measurevalue",
        "risk.change_risk",
    ],
    "CS Leader": VIEW_EVERYTHING + ["accounts.change_account", "risk.change_risk"],
    "CS Ops": VIEW_EVERYTHING
    + SCORECARD_DESIGN
    + SCHEDULES
    + [
        "risk.change_riskrule",
        "risk.change_risk",
        "scorecards.add_scorerun",
    ],
    "Integration": VIEW_EVERYTHING
    + [
        "accounts.add_account",
        "accounts.change_account",
        "accounts.add_contact",
        "accounts.change_contact",
        "accounts.add_touchpoint",
        "accounts.add_renewaloutcome",
        "accounts.change_renewaloutcome",
        "scorecards.add_measurevalue",
        "scorecards.change_measurevalue",
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally made after all migrations ran; make them now so that the
    # groups can hold them on a fresh database.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = []
        for code in codes:
            app_label, codename = code.split(".")
            permissions.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("scorecards", "0002_default_scorecard"),
        ("risk", "0002_default_risk_rules"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
