from django.db.models import Prefetch, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import accounts_visible_to
from healthscore.api import OrderingFilter
from risk.api import serializers
from risk.filtersets import RiskFilterSet
from risk.models import Risk, RiskEvent
from risk.services import risk_transition


@extend_schema_view(
    list=extend_schema(summary="Risks of the accounts the caller may see"),
    retrieve=extend_schema(summary="One risk with its history"),
)
class RiskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.RiskSerializer
    filterset_class = RiskFilterSet
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["opened_at", "updated_at", "severity", "id"]
    ordering = ["-opened_at", "-id"]
    write_permissions = {"transition": ["risk.change_risk"]}

    def get_queryset(self) -> QuerySet[Risk]:
        visible = accounts_visible_to(user=self.request.user)
        risks = Risk.objects.filter(account__in=visible).select_related("account")
        if self.action in ("retrieve", "transition"):
            events = RiskEvent.objects.order_by("at", "id")
            risks = risks.prefetch_related(Prefetch("events", queryset=events))
        return risks

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.RiskDetailSerializer
        if self.action == "transition":
            return serializers.RiskTransitionSerializer
        return super().get_serializer_class()

    @extend_schema(
        summary="Move a risk along its lifecycle, with a note",
        description=(
            "open → acknowledged → mitigating → resolved, or won't fix from any open state; "
            "steps may be skipped, never taken back. Resolving or closing needs a note."
        ),
        request=serializers.RiskTransitionSerializer,
        responses={200: serializers.RiskDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str) -> Response:
        risk = self.get_object()
        change = self.get_serializer(data=request.data)
        change.is_valid(raise_exception=True)
        risk_transition(
            risk=risk,
            to_status=change.validated_data["status"],
            note=change.validated_data["note"],
            snoozed_until=change.validated_data["snoozed_until"],
            user=request.user,
        )
        return Response(serializers.RiskDetailSerializer(self.get_queryset().get(pk=risk.pk)).data)
