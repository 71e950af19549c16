from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, status, viewsets
from rest_framework import serializers as drf_serializers
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import roles
from events import selectors, services
from events.api import serializers
from events.filtersets import DeliveryFilterSet
from events.models import Delivery, WebhookEndpoint
from healthscore.api import LINK_HEADER, ApiKeyScope, LinkHeaderPagination


class IsCsOps(BasePermission):
    """Endpoints and their deliveries are CS Ops' (and superusers'): anyone else gets 403."""

    message = "Only CS Ops manage webhook endpoints."

    def has_permission(self, request: Request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        return user.is_superuser or roles.CS_OPS in roles.user_roles(user)


def _with_secret(created: services.EndpointWithSecret) -> dict:
    body = serializers.WebhookEndpointSerializer(created.endpoint).data
    return {**body, "secret": created.secret}


@extend_schema_view(
    list=extend_schema(summary="Webhook endpoints (CS Ops)"),
    retrieve=extend_schema(summary="One webhook endpoint"),
    create=extend_schema(
        summary="Add an endpoint; the answer holds its secret, shown this once",
        responses={201: serializers.WebhookEndpointCreatedSerializer},
    ),
    partial_update=extend_schema(summary="Change an endpoint (url, format, filters, active)"),
    update=extend_schema(summary="Replace an endpoint's settings"),
    destroy=extend_schema(summary="Remove an endpoint and its delivery log"),
)
class WebhookEndpointViewSet(viewsets.ModelViewSet):
    queryset = WebhookEndpoint.objects.order_by("id")
    serializer_class = serializers.WebhookEndpointSerializer
    permission_classes = [IsCsOps, ApiKeyScope]

    def create(self, request: Request) -> Response:
        given = self.get_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        created = services.webhook_endpoint_create(user=request.user, **given.service_fields())
        return Response(_with_secret(created), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        endpoint = self.get_object()
        given = self.get_serializer(
            endpoint, data=request.data, partial=kwargs.get("partial", False)
        )
        given.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(endpoint=endpoint, **given.service_fields())
        return Response(self.get_serializer(endpoint).data)

    @extend_schema(
        summary="A new secret (shown once); the old one keeps signing for 24 hours",
        request=None,
        responses={200: serializers.WebhookEndpointCreatedSerializer},
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, pk: str) -> Response:
        rotated = services.webhook_endpoint_rotate(endpoint=self.get_object())
        return Response(_with_secret(rotated))

    @extend_schema(
        summary="Send a test ping now and show how it went",
        request=None,
        responses={200: serializers.DeliverySerializer},
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        delivery = services.webhook_endpoint_ping(endpoint=self.get_object())
        return Response(serializers.DeliverySerializer(delivery).data)


class DeliveryLogPagination(LinkHeaderPagination):
    # Newest first, along the (endpoint, -created_at) index; the id breaks ties.
    ordering = ("-created_at", "-id")


@extend_schema_view(
    list=extend_schema(
        summary="An endpoint's delivery log, newest first",
        description="A JSON list (PRODUCT.md's shape), 100 deliveries a page (`page_size` up to "
        '500); the URL of the next page is in the `Link` header (`rel="next"`), absent on the '
        "last.",
        parameters=[LINK_HEADER],
    ),
    retrieve=extend_schema(summary="One delivery of an endpoint"),
)
class WebhookDeliveryViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """`/webhooks/<webhook id>/deliveries/`: the log, and replays with the same webhook-id."""

    serializer_class = serializers.DeliverySerializer
    filterset_class = DeliveryFilterSet
    pagination_class = DeliveryLogPagination
    permission_classes = [IsCsOps, ApiKeyScope]
    lookup_value_regex = "[0-9]+"

    def endpoint(self) -> WebhookEndpoint:
        return get_object_or_404(WebhookEndpoint, pk=self.kwargs["webhook_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular's schema pass
            return Delivery.objects.none()
        return selectors.deliveries_of_endpoint(endpoint=self.endpoint())

    @extend_schema(
        summary="Send one delivery again, with the same webhook-id",
        request=None,
        responses={200: serializers.DeliverySerializer},
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, webhook_pk: str, pk: str) -> Response:
        delivery = services.delivery_replay(delivery=self.get_object())
        return Response(serializers.DeliverySerializer(delivery).data)

    @extend_schema(
        operation_id="webhooks_deliveries_replay_failed",
        summary="Send again every failed delivery made since a date",
        request=serializers.DeliveriesReplaySerializer,
        responses={
            200: inline_serializer(
                "DeliveriesReplayed", {"replayed": drf_serializers.IntegerField()}
            )
        },
        filters=False,
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="replay",
        url_name="replay-failed",
        serializer_class=serializers.DeliveriesReplaySerializer,
        filterset_class=None,
    )
    def replay_failed(self, request: Request, webhook_pk: str) -> Response:
        given = serializers.DeliveriesReplaySerializer(data=request.data)
        given.is_valid(raise_exception=True)
        count = services.deliveries_replay_failed(
            endpoint=self.endpoint(), since=given.validated_data["since"]
        )
        return Response({"replayed": count})
