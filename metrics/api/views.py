from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import UpsertResultSerializer
from accounts.bulk import rows_check_size
from accounts.models import ApiKey
from accounts.selectors import accounts_visible_to
from healthscore.api import CursorListPagination, one_or_many
from metrics import services
from metrics.api import serializers
from metrics.models import Metric, MetricValue


@extend_schema_view(
    list=extend_schema(summary="Declared metrics"),
    create=extend_schema(summary="Declare a metric (values of undeclared metrics are refused)"),
)
class MetricViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Metric.objects.all()
    serializer_class = serializers.MetricSerializer
    api_key_scope = ApiKey.Scope.WRITE_METRICS
    lookup_field = "key"

    def perform_create(self, serializer) -> None:
        serializer.instance = services.metric_create(**serializer.validated_data)


METRIC_VALUES_EXAMPLE = OpenApiExample(
    "A day of usage",
    value=[
        {"account": "CRM-001", "metric": "active_users", "date": "2026-11-27", "value": 41},
        {"account": "CRM-001", "metric": "licensed_seats", "date": "2026-11-27", "value": 50},
    ],
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(summary="Metric values of the accounts the caller may see"),
    create=extend_schema(
        summary="Push daily metric values, all or nothing, idempotent",
        description=(
            "One value or a list of up to 10,000. Every row is checked first; one bad row "
            "(unknown account, undeclared metric, a value that is not a number, a date before "
            "1900 or after today, the same account, metric and date twice) means none is "
            "written and the 400 lists every bad row. Sending a value again replaces it."
        ),
        request=one_or_many(
            serializers.MetricValueInputSerializer, "MetricValues", has_other_fields=False
        ),
        responses={200: UpsertResultSerializer, 201: UpsertResultSerializer},
        examples=[METRIC_VALUES_EXAMPLE],
    ),
)
class MetricValueViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.MetricValueSerializer
    pagination_class = CursorListPagination
    api_key_scope = ApiKey.Scope.WRITE_METRICS

    def get_queryset(self) -> QuerySet[MetricValue]:
        visible = accounts_visible_to(user=self.request.user)
        return MetricValue.objects.filter(account__in=visible).select_related("account", "metric")

    def create(self, request: Request, *args, **kwargs) -> Response:
        rows = request.data if isinstance(request.data, list) else [request.data]
        rows_check_size(rows)
        result = services.metric_values_ingest(rows=rows, user=request.user)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(result.as_dict(), status=code)
