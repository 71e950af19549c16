import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_scorecard_from_snapshots(apps, schema_editor):
    CurrentScore = apps.get_model("scorecards", "CurrentScore")
    ScoreSnapshot = apps.get_model("scorecards", "ScoreSnapshot")
    CurrentScore.objects.update(
        scorecard_id=Subquery(
            ScoreSnapshot.objects.filter(pk=OuterRef("snapshot_id")).values("scorecard_id")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("scorecards", "0008_measure_value_fewer_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="currentscore",
            name="scorecard",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="scorecards.scorecard",
            ),
        ),
        migrations.RunPython(copy_scorecard_from_snapshots, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="currentscore",
            name="scorecard",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="scorecards.scorecard",
            ),
        ),
    ]
