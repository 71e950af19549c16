"""The default scorecard every account falls back to: DEAR outcomes, experience, relationship."""

from django.db import migrations

SENTIMENT_STEPS = [[1, 0], [2, 25], [3, 50], [4, 75], [5, 100]]

# The same shape as the scorecard JSON document of PRODUCT.md, so version 1 records it as is.
DEFAULT_SCORECARD = {
    "name": "Standard B2B",
    "is_default": True,
    "min_coverage": 0.0,
    "assignment": {"priority": 100, "segment": [], "tier": [], "lifecycle": []},
    "bands": [
        {"label": "Red", "min": 0, "color": "#c0392b"},
        {"label": "Yellow", "min": 50, "color": "#f1c40f"},
        {"label": "Green", "min": 75, "color": "#27ae60"},
    ],
    "groups": [
        {
            "name": "Outcomes",
            "weight": 50,
            "measures": [
                {
                    "key": "deployment",
                    "name": "Deployment",
                    "weight": 25,
                    "kind": "automated",
                    "description": "Licences deployed / licences purchased (0–1).",
                    "mapping": {"type": "linear", "lo": 0, "hi": 1, "higher_is_better": True},
                    "max_age_days": 45,
                },
                {
                    "key": "engagement",
                    "name": "Engagement",
                    "weight": 25,
                    "kind": "automated",
                    "description": "Share of deployed users active in the last 30 days (0–1).",
                    "mapping": {"type": "linear", "lo": 0, "hi": 0.8, "higher_is_better": True},
                    "max_age_days": 45,
                },
                {
                    "key": "adoption",
                    "name": "Adoption",
                    "weight": 30,
                    "kind": "automated",
                    "description": "Breadth of key features used (0–1).",
                    "mapping": {"type": "linear", "lo": 0, "hi": 1, "higher_is_better": True},
                    "max_age_days": 45,
                },
                {
                    "key": "roi",
                    "name": "ROI",
                    "weight": 20,
                    "kind": "manual",
                    "description": "Value the customer has confirmed, 1 (none) to 5 (documented).",
                    "mapping": {"type": "steps", "steps": SENTIMENT_STEPS},
                    "max_age_days": 180,
                },
            ],
        },
        {
            "name": "Experience",
            "weight": 30,
            "measures": [
                {
                    "key": "csm_sentiment",
                    "name": "CSM sentiment",
                    "weight": 50,
                    "kind": "manual",
                    "description": "The CSM's read of the account, 1 (very poor) to 5 (very good).",
                    "mapping": {"type": "steps", "steps": SENTIMENT_STEPS},
                    "max_age_days": 60,
                },
                {
                    "key": "nps",
                    "name": "NPS",
                    "weight": 25,
                    "kind": "automated",
                    "description": "Net promoter score of the account's respondents (−100 to 100).",
                    "mapping": {"type": "linear", "lo": -100, "hi": 100, "higher_is_better": True},
                    "max_age_days": 120,
                },
                {
                    "key": "support",
                    "name": "Support load",
                    "weight": 25,
                    "kind": "automated",
                    "description": "Support tickets opened in the last 30 days.",
                    "mapping": {"type": "linear", "lo": 0, "hi": 20, "higher_is_better": False},
                    "max_age_days": 45,
                },
            ],
        },
        {
            "name": "Relationship",
            "weight": 20,
            "measures": [
                {
                    "key": "sponsor_engagement",
                    "name": "Sponsor engagement",
                    "weight": 60,
                    "kind": "automated",
                    "description": "Days since the last touchpoint with a sponsor or decision maker.",
                    "mapping": {"type": "linear", "lo": 0, "hi": 90, "higher_is_better": False},
                    "max_age_days": 7,
                },
                {
                    "key": "sponsor_coverage",
                    "name": "Sponsor coverage",
                    "weight": 40,
                    "kind": "automated",
                    "description": "1 when the account has an active executive sponsor, else 0.",
                    "mapping": {"type": "steps", "steps": [[0, 0], [1, 100]]},
                    "max_age_days": 7,
                },
            ],
        },
    ],
    "exceptions": [
        {
            "measure": "csm_sentiment",
            "op": "<=",
            "value": 25,
            "action": "flag",
            "reason": "Low CSM sentiment",
        },
    ],
}


def create_default_scorecard(apps, schema_editor):
    Scorecard = apps.get_model("scorecards", "Scorecard")
    ScorecardVersion = apps.get_model("scorecards", "ScorecardVersion")
    Band = apps.get_model("scorecards", "Band")
    Measure = apps.get_model("scorecards", "Measure")
    MeasureGroup = apps.get_model("scorecards", "MeasureGroup")
    ScorecardMeasure = apps.get_model("scorecards", "ScorecardMeasure")
    ExceptionRule = apps.get_model("scorecards", "ExceptionRule")

    document = DEFAULT_SCORECARD
    scorecard = Scorecard.objects.create(
        name=document["name"],
        description="The default scorecard: DEAR outcomes, customer experience, relationship.",
        is_default=True,
        min_coverage=document["min_coverage"],
        priority=document["assignment"]["priority"],
    )
    for band in document["bands"]:
        Band.objects.create(
            scorecard=scorecard, label=band["label"], min_score=band["min"], color=band["color"]
        )
    measures = {}
    for group_position, group_doc in enumerate(document["groups"]):
        group = MeasureGroup.objects.create(
            scorecard=scorecard,
            name=group_doc["name"],
            weight=group_doc["weight"],
            position=group_position,
        )
        for position, measure_doc in enumerate(group_doc["measures"]):
            mapping = measure_doc["mapping"]
            measure = Measure.objects.create(
                key=measure_doc["key"],
                name=measure_doc["name"],
                description=measure_doc["description"],
                kind=measure_doc["kind"],
                mapping_type=mapping["type"],
                lo=mapping.get("lo"),
                hi=mapping.get("hi"),
                higher_is_better=mapping.get("higher_is_better", True),
                steps=mapping.get("steps"),
                max_age_days=measure_doc["max_age_days"],
            )
            measures[measure.key] = measure
            ScorecardMeasure.objects.create(
                scorecard=scorecard,
                group=group,
                measure=measure,
                weight=measure_doc["weight"],
                position=position,
            )
    for rule in document["exceptions"]:
        ExceptionRule.objects.create(
            scorecard=scorecard,
            measure=measures[rule["measure"]],
            op=rule["op"],
            value=rule["value"],
            action=rule["action"],
            reason=rule["reason"],
        )
    ScorecardVersion.objects.create(
        scorecard=scorecard, number=1, definition=document, note="Created with the product."
    )


def remove_default_scorecard(apps, schema_editor):
    apps.get_model("scorecards", "Scorecard").objects.filter(
        name=DEFAULT_SCORECARD["name"]
    ).delete()
    apps.get_model("scorecards", "Measure").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("scorecards", "0001_initial")]

    operations = [migrations.RunPython(create_default_scorecard, remove_default_scorecard)]
