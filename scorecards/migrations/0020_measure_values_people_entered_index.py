"""A partial index of the values people entered or commented on: see MeasureValue."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_touchpoint_kind_note'),
        ('scorecards', '0019_measure_values_without_foreign_key_constraints'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='measurevalue',
            index=models.Index(condition=models.Q(models.Q(('source', 'manual'), models.Q(('comment', ''), _negated=True), _connector='OR'), models.Q(('source', 'computed'), _negated=True)), fields=['account', '-as_of', '-id'], name='measurevalue_people_entered'),
        ),
    ]
