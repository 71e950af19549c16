"""The current score keeps no foreign-key constraint, no index on its snapshot and none on
its overall score: see CurrentScore (each cost every publish, seconds at a million accounts)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_touchpoint_kind_note"),
        ("scorecards", "0017_snapshot_earlier_scores"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="currentscore",
            name="currentscore_overall",
        ),
        migrations.AlterField(
            model_name="currentscore",
            name="account",
            field=models.OneToOneField(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                primary_key=True,
                related_name="current_score",
                serialize=False,
                to="accounts.account",
            ),
        ),
        migrations.AlterField(
            model_name="currentscore",
            name="scorecard",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="scorecards.scorecard",
            ),
        ),
        migrations.AlterField(
            model_name="currentscore",
            name="snapshot",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="current_for",
                to="scorecards.scoresnapshot",
            ),
        ),
    ]
