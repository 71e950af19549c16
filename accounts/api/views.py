from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import DateField, DecimalField, F, QuerySet, Value
from django.db.models.functions import Coalesce
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import bulk, ingestion, services
from accounts.api import serializers
from accounts.filtersets import (
    AccountFilterSet,
    ContactFilterSet,
    RenewalOutcomeFilterSet,
    TouchpointFilterSet,
)
from accounts.models import Account, ApiKey, Contact, RenewalOutcome, Touchpoint
from accounts.selectors import accounts_visible_scope, accounts_visible_to
from healthscore.api import (
    CursorListPagination,
    ExternalIdLookupMixin,
    OrderingFilter,
    StandardPagination,
    one_or_many,
)
from healthscore.generations import ACCOUNTS, SCORES
from healthscore.read_model_cache import CacheEntry, cache_found, cache_keys, cache_store

NOT_SCORED_SORTS_FIRST = Value(Decimal("-1"))
NO_RENEWAL = date(9999, 12, 31)


def _rows(request: Request) -> list:
    """A bulk body: a list of objects, or one object."""
    rows = request.data if isinstance(request.data, list) else [request.data]
    bulk.rows_check_size(rows)
    return rows


def _upsert_response(result: bulk.UpsertResult) -> Response:
    code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
    return Response(result.as_dict(), status=code)


ACCOUNT_ROWS_EXAMPLE = OpenApiExample(
    "Two accounts",
    value=[
        {"external_id": "CRM-001", "name": "Acme", "segment": "Enterprise", "arr": 120000},
        {"external_id": "CRM-002", "name": "Globex", "owner_email": "csm@example.com"},
    ],
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(summary="Accounts the caller may see, filtered and ordered"),
    retrieve=extend_schema(summary="One account, by id or external_id"),
    create=extend_schema(
        summary="Create one account",
        request=serializers.AccountWriteSerializer,
        responses={201: serializers.AccountSerializer},
    ),
    partial_update=extend_schema(
        summary="Change one account",
        request=serializers.AccountWriteSerializer,
        responses={200: serializers.AccountSerializer},
    ),
)
class AccountViewSet(
    ExternalIdLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Accounts, addressed by id or external_id. `ordering`: name, external_id, arr, renewal
    (no renewal date last), health (the current score; not scored first), id."""

    http_method_names = ["get", "post", "patch", "head", "options"]
    serializer_class = serializers.AccountSerializer
    filterset_class = AccountFilterSet
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["name", "external_id", "arr", "renewal", "health", "id"]
    ordering = ["name"]
    pagination_class = CursorListPagination
    api_key_scope = ApiKey.Scope.WRITE_ACCOUNTS
    write_permissions = {"bulk": ["accounts.add_account", "accounts.change_account"]}

    def get_queryset(self) -> QuerySet[Account]:
        return (
            accounts_visible_to(user=self.request.user)
            .select_related("owner", "current_score")
            .annotate(
                # Cursor pagination needs non-null positions: unscored accounts sort as −1,
                # accounts without a renewal date after every real one.
                health=Coalesce(
                    F("current_score__overall"),
                    NOT_SCORED_SORTS_FIRST,
                    output_field=DecimalField(max_digits=5, decimal_places=2),
                ),
                renewal=Coalesce(F("renewal_date"), Value(NO_RENEWAL), output_field=DateField()),
            )
        )

    def get_serializer_class(self):
        if self.action in ("create", "partial_update"):
            return serializers.AccountWriteSerializer
        return super().get_serializer_class()

    def list(self, request: Request, *args, **kwargs) -> Response:
        """Served from the cache until an account, an owner or a current score changes: an
        integration paging through the accounts, or many polling the first page, should not
        each read and serialize the same 50 rows. Keyed by what the answer depends on: the
        accounts the caller sees, the query (filters, ordering, cursor) and the host that the
        next/previous links are built on."""
        entry = CacheEntry(
            "api.accounts.list",
            (ACCOUNTS, SCORES),
            {
                "scope": accounts_visible_scope(user=request.user),
                "query": sorted(request.query_params.lists()),
                "origin": request.build_absolute_uri("/"),
            },
        )
        (key,) = cache_keys([entry])
        found = cache_found([key])
        if key in found:
            return Response(found[key])
        response = super().list(request, *args, **kwargs)
        cache_store({key: response.data})
        return response

    def create(self, request: Request, *args, **kwargs) -> Response:
        write = self.get_serializer(data=request.data)
        write.is_valid(raise_exception=True)
        account = write.save()
        return Response(serializers.AccountSerializer(account).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        account = self.get_object()
        write = self.get_serializer(account, data=request.data, partial=True)
        write.is_valid(raise_exception=True)
        account = write.save()
        return Response(serializers.AccountSerializer(account).data)

    @extend_schema(
        summary="Create or update accounts by external_id, all or nothing",
        description="One object or a list of up to 10,000.",
        request=one_or_many(serializers.AccountRowSerializer, "AccountRows"),
        responses={
            200: serializers.UpsertResultSerializer,
            201: serializers.UpsertResultSerializer,
        },
        examples=[ACCOUNT_ROWS_EXAMPLE],
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        result = ingestion.accounts_upsert(rows=_rows(request), user=request.user)
        return _upsert_response(result)


@extend_schema_view(
    list=extend_schema(summary="Contacts of the accounts the caller may see"),
    retrieve=extend_schema(summary="One contact, by id or external_id"),
    create=extend_schema(
        summary="Create one contact",
        request=serializers.ContactWriteSerializer,
        responses={201: serializers.ContactSerializer},
    ),
    partial_update=extend_schema(
        summary="Change one contact (a new role or a departure is recorded)",
        request=serializers.ContactWriteSerializer,
        responses={200: serializers.ContactSerializer},
    ),
)
class ContactViewSet(
    ExternalIdLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    http_method_names = ["get", "post", "patch", "head", "options"]
    serializer_class = serializers.ContactSerializer
    filterset_class = ContactFilterSet
    pagination_class = CursorListPagination
    api_key_scope = ApiKey.Scope.WRITE_ACCOUNTS
    write_permissions = {"bulk": ["accounts.add_contact", "accounts.change_contact"]}

    def get_queryset(self) -> QuerySet[Contact]:
        visible = accounts_visible_to(user=self.request.user)
        return Contact.objects.filter(account__in=visible).select_related("account")

    def get_serializer_class(self):
        if self.action in ("create", "partial_update"):
            return serializers.ContactWriteSerializer
        return super().get_serializer_class()

    def create(self, request: Request, *args, **kwargs) -> Response:
        write = self.get_serializer(data=request.data)
        write.is_valid(raise_exception=True)
        contact = write.save()
        services.accounts_changed_notify(account_ids=[contact.account_id])
        return Response(serializers.ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        contact = self.get_object()
        account_before = contact.account_id  # a contact moved away changes that account too
        write = self.get_serializer(contact, data=request.data, partial=True)
        write.is_valid(raise_exception=True)
        changes = dict(write.validated_data)
        role = changes.pop("role", contact.role)
        is_active = changes.pop("is_active")
        left_on = changes.pop("left_on")
        with transaction.atomic():
            for name, value in changes.items():
                setattr(contact, name, value)
            if not is_active and contact.is_active is False and contact.left_on != left_on:
                contact.left_on = left_on  # correcting the date of a recorded departure
            if is_active and not contact.is_active:
                contact.is_active, contact.left_on = True, None  # back at the company
            contact.full_clean()
            contact.save()
            services.contact_change_role(contact=contact, role=role, user=request.user)
            if not is_active and contact.is_active:
                services.contact_left_on_check(contact=contact, left_on=left_on)
                services.contact_mark_left(contact=contact, left_on=left_on, user=request.user)
        services.accounts_changed_notify(account_ids=[account_before, contact.account_id])
        contact.refresh_from_db()
        return Response(serializers.ContactSerializer(contact).data)

    @extend_schema(
        summary="Create or update contacts by external_id, all or nothing",
        description="Up to 10,000 rows. Once written, the risks of the accounts whose contacts "
        "were created or changed are evaluated again, together, before the answer.",
        request=one_or_many(serializers.ContactRowSerializer, "ContactRows"),
        responses={
            200: serializers.UpsertResultSerializer,
            201: serializers.UpsertResultSerializer,
        },
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        result = ingestion.contacts_upsert(rows=_rows(request), user=request.user)
        return _upsert_response(result)


@extend_schema_view(
    list=extend_schema(summary="Touchpoints of the accounts the caller may see"),
    retrieve=extend_schema(summary="One touchpoint"),
    create=extend_schema(
        summary="Record a meeting, call or email",
        request=serializers.TouchpointWriteSerializer,
        responses={201: serializers.TouchpointSerializer},
    ),
)
class TouchpointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = serializers.TouchpointSerializer
    filterset_class = TouchpointFilterSet
    pagination_class = CursorListPagination
    api_key_scope = ApiKey.Scope.WRITE_ACCOUNTS

    def get_queryset(self) -> QuerySet[Touchpoint]:
        visible = accounts_visible_to(user=self.request.user)
        return (
            Touchpoint.objects.filter(account__in=visible)
            .select_related("account")
            .prefetch_related("contacts")
        )

    def get_serializer_class(self):
        if self.action == "create":
            return serializers.TouchpointWriteSerializer
        return super().get_serializer_class()

    def create(self, request: Request, *args, **kwargs) -> Response:
        write = self.get_serializer(data=request.data)
        write.is_valid(raise_exception=True)
        touchpoint = services.touchpoint_create(**write.validated_data, user=request.user)
        services.accounts_changed_notify(account_ids=[touchpoint.account_id])
        touchpoint = self.get_queryset().get(pk=touchpoint.pk)
        return Response(
            serializers.TouchpointSerializer(touchpoint).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    list=extend_schema(summary="Renewal outcomes of the accounts the caller may see"),
    retrieve=extend_schema(summary="One renewal outcome"),
    create=extend_schema(
        summary="Create or update renewal outcomes by (account, renewal_date), all or nothing",
        description="One object or a list of up to 10,000.",
        request=one_or_many(serializers.RenewalOutcomeRowSerializer, "RenewalOutcomeRows"),
        responses={
            200: serializers.UpsertResultSerializer,
            201: serializers.UpsertResultSerializer,
        },
    ),
)
class RenewalOutcomeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = serializers.RenewalOutcomeSerializer
    filterset_class = RenewalOutcomeFilterSet
    pagination_class = StandardPagination
    api_key_scope = ApiKey.Scope.WRITE_ACCOUNTS
    write_permissions = {
        "create": ["accounts.add_renewaloutcome", "accounts.change_renewaloutcome"]
    }

    def get_queryset(self) -> QuerySet[RenewalOutcome]:
        visible = accounts_visible_to(user=self.request.user)
        return (
            RenewalOutcome.objects.filter(account__in=visible)
            .select_related("account")
            .order_by("-renewal_date", "-id")
        )

    def create(self, request: Request, *args, **kwargs) -> Response:
        result = ingestion.renewal_outcomes_upsert(rows=_rows(request), user=request.user)
        return _upsert_response(result)
