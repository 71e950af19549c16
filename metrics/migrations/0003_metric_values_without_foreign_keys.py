"""Metric values keep no foreign-key constraints in the database (see MetricValue): PostgreSQL
checked them row by row at commit, 0.1-0.15 s of a 10,000-row push on the test machine. On
PostgreSQL this drops the two constraints of the partitioned table (its partitions lose them
with it); SQLite rebuilds the table without them."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_touchpoint_kind_note'),
        ('metrics', '0002_roles_and_partition_schedule'),
    ]

    operations = [
        migrations.AlterField(
            model_name='metricvalue',
            name='account',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='metric_values', to='accounts.account'),
        ),
        migrations.AlterField(
            model_name='metricvalue',
            name='metric',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='values', to='metrics.metric'),
        ),
    ]
