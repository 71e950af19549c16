from django.db import migrations, models

# Each current score takes its snapshot's version (a correlated subquery: the same SQL on
# PostgreSQL and SQLite; the snapshot is found by id and date, its partitioned key).
COPY_VERSIONS = """
UPDATE scorecards_currentscore SET scorecard_version = (
    SELECT s.scorecard_version FROM scorecards_scoresnapshot s
    WHERE s.id = scorecards_currentscore.snapshot_id
      AND s.as_of = scorecards_currentscore.as_of
)
WHERE EXISTS (
    SELECT 1 FROM scorecards_scoresnapshot s
    WHERE s.id = scorecards_currentscore.snapshot_id
      AND s.as_of = scorecards_currentscore.as_of
)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("scorecards", "0015_band_move_no_run_constraint"),
    ]

    operations = [
        migrations.AddField(
            model_name="currentscore",
            name="scorecard_version",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunSQL(COPY_VERSIONS, reverse_sql=migrations.RunSQL.noop),
    ]
