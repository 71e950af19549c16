"""Measure values keep no foreign-key constraint to their account or measure: see MeasureValue
(checked row by row at commit, as long as writing the values). Django still cascades and
protects."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_touchpoint_kind_note'),
        ('scorecards', '0018_current_score_lighter_to_publish'),
    ]

    operations = [
        migrations.AlterField(
            model_name='measurevalue',
            name='account',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='measure_values', to='accounts.account'),
        ),
        migrations.AlterField(
            model_name='measurevalue',
            name='measure',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='values', to='scorecards.measure'),
        ),
    ]
