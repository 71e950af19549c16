from rest_framework import serializers

from healthscore.dates import BoundedDateField
from metrics.models import Metric, MetricValue


class MetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = Metric
        fields = ["id", "key", "name", "unit"]


class MetricValueSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.external_id", read_only=True)
    metric = serializers.CharField(source="metric.key", read_only=True)

    class Meta:
        model = MetricValue
        fields = ["account", "metric", "date", "value"]


class MetricValueInputSerializer(serializers.Serializer):
    """One row of `POST /api/v1/metric-values/` (documentation: the rows are checked by
    metrics.services.metric_values_validate, all of them, before anything is written). A row
    with any other field is bad: a misspelt field must not pass unnoticed."""

    account = serializers.CharField(help_text="The account's external_id.")
    metric = serializers.CharField(help_text="A declared metric's key.")
    date = BoundedDateField(help_text="1900-01-01 … today.")
    value = serializers.FloatField()
