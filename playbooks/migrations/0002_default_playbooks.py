"""Default playbooks for the nine risk types, the roles' permissions on playbooks and tasks,
and the hourly sweep that records overdue tasks. CS Ops edit all of it in the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# (risk type, name, min severity, [(title, description, due in days, assignee)])
DEFAULT_PLAYBOOKS = [
    (
        "low_sentiment",
        "Low sentiment: recover the relationship",
        "",
        [
            ("Call the sponsor", "Hear their side and what would change their view.", 2, "owner"),
            ("Agree a recovery plan", "Goals, owners and dates, shared with the sponsor.", 7, "owner"),
            ("Leader review of the plan", "A CS leader reviews the plan and its progress.", 14, "leader"),
        ],
    ),
    (
        "score_drop",
        "Score drop: find the cause",
        "",
        [
            ("Review what changed", "Open the account's 'what changed' and note the cause.", 3, "owner"),
            ("Act on the biggest lever", "Plan one action on the measure that moved most.", 10, "owner"),
        ],
    ),
    (
        "turned_red",
        "Turned red: confirm and plan",
        "",
        [
            ("Confirm the red health with the customer", "A call or meeting within days.", 3, "owner"),
            ("Write a get-well plan", "What will move the account out of red, by when.", 10, "owner"),
        ],
    ),
    (
        "sponsor_left",
        "Sponsor left: re-establish sponsorship",
        "",
        [
            ("Find the new sponsor", "Ask the champion who now owns the decision.", 5, "owner"),
            ("Meet the new sponsor", "Introduce the value delivered so far.", 14, "owner"),
        ],
    ),
    (
        "no_sponsor",
        "No sponsor: name one",
        "",
        [("Identify an executive sponsor", "Add them as a contact with that role.", 14, "owner")],
    ),
    (
        "sponsor_disengaged",
        "Sponsor disengaged: re-engage",
        "",
        [("Book a sponsor check-in", "A meeting or call with the sponsor.", 7, "owner")],
    ),
    (
        "renewal_at_risk",
        "Renewal at risk: save plan",
        "",
        [
            ("Escalate to the CS leader", "Share the risk and the account's breakdown.", 1, "owner"),
            ("Executive call with the customer", "Leader and sponsor, before the renewal.", 5, "leader"),
            ("Agree the renewal plan", "Terms, value proof and next steps.", 14, "owner"),
        ],
    ),
    (
        "single_threaded",
        "Single-threaded: multi-thread",
        "",
        [("Meet a second contact", "A champion or admin beside the main contact.", 30, "owner")],
    ),
    (
        "sentiment_divergence",
        "Sentiment divergence: check the read",
        "",
        [("Check the sentiment against the data", "Update the sentiment or note why.", 7, "owner")],
    ),
]

PERMISSIONS = {
    "CSM": ["view_playbook", "view_playbookstep", "view_task", "change_task"],
    "CS Leader": ["view_playbook", "view_playbookstep", "view_task", "change_task"],
    "CS Ops": [
        f"{verb}_{model}"
        for model in ("playbook", "playbookstep")
        for verb in ("add", "change", "delete", "view")
    ]
    + ["view_task", "change_task"],
    "Integration": ["view_playbook", "view_playbookstep", "view_task"],
}

OVERDUE_TASK = "playbooks.tasks.tasks_overdue_record"


def create_playbooks(apps, schema_editor):
    Playbook = apps.get_model("playbooks", "Playbook")
    PlaybookStep = apps.get_model("playbooks", "PlaybookStep")
    for risk_type, name, min_severity, steps in DEFAULT_PLAYBOOKS:
        playbook, created = Playbook.objects.get_or_create(
            name=name, defaults={"risk_type": risk_type, "min_severity": min_severity}
        )
        if not created:
            continue
        for position, (title, description, due_in_days, assignee) in enumerate(steps):
            PlaybookStep.objects.create(
                playbook=playbook,
                position=position,
                title=title,
                description=description,
                due_in_days=due_in_days,
                assignee=assignee,
            )


def grant_permissions(apps, schema_editor):
    # Permissions are normally made after all migrations ran; make them now so that the
    # groups can hold them on a fresh database.
    app_config = apps.get_app_config("playbooks")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="playbooks", codename__in=codenames
            )
        )


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="5", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name="Record overdue tasks (task.overdue, once per task)",
        defaults={"task": OVERDUE_TASK, "crontab": crontab, "enabled": True},
    )


def create_all(apps, schema_editor):
    create_playbooks(apps, schema_editor)
    grant_permissions(apps, schema_editor)
    create_schedule(apps, schema_editor)


def remove_all(apps, schema_editor):
    apps.get_model("playbooks", "Playbook").objects.filter(
        name__in=[name for _, name, _, _ in DEFAULT_PLAYBOOKS]
    ).delete()
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=OVERDUE_TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("playbooks", "0001_playbooks_and_tasks"),
        ("accounts", "0002_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_all, remove_all)]
