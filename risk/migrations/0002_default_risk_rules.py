"""The default risk rules of PRODUCT.md; CS Ops tune them in the admin."""

from django.db import migrations

DEFAULT_RISK_RULES = [
    # (type, threshold, window_days, severity, auto_resolve)
    ("low_sentiment", 25, None, "high", False),
    ("score_drop", 15, 30, "medium", True),
    ("turned_red", None, None, "medium", True),
    ("sponsor_left", None, None, "high", False),
    ("no_sponsor", None, None, "medium", True),
    ("sponsor_disengaged", None, 90, "medium", True),
    ("renewal_at_risk", None, 90, "critical", False),
    ("single_threaded", 2, 90, "low", True),
    ("sentiment_divergence", 75, None, "low", True),
]


def create_rules(apps, schema_editor):
    RiskRule = apps.get_model("risk", "RiskRule")
    for risk_type, threshold, window_days, severity, auto_resolve in DEFAULT_RISK_RULES:
        RiskRule.objects.create(
            risk_type=risk_type,
            threshold=threshold,
            window_days=window_days,
            severity=severity,
            auto_resolve=auto_resolve,
        )


def remove_rules(apps, schema_editor):
    apps.get_model("risk", "RiskRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("risk", "0001_initial")]

    operations = [migrations.RunPython(create_rules, remove_rules)]
