from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from accounts.bulk import rows_check_size
from accounts.models import Account, ApiKey
from accounts.selectors import accounts_visible_to
from accounts.services import accounts_changed_notify
from healthscore.api import (
    ApiKeyScope,
    CursorListPagination,
    account_visible_for_lookup,
    one_or_many,
)
from healthscore.conditional import conditional_get
from healthscore.generations import ACCOUNTS, SCORECARDS, SCORES
from scorecards.api import rollups, scores, serializers
from scorecards.documents import scorecard_to_document
from scorecards.filtersets import BacktestRunFilterSet, MeasureValueFilterSet, ScoreRunFilterSet
from scorecards.learning import runs
from scorecards.learning import selectors as learning_selectors
from scorecards.models import BacktestRun, MeasureValue, Scorecard, ScoreRun
from scorecards.services import ingestion, publishing
from scorecards.services.scoring import account_rescore, score_run_start

MEASURE_VALUES_EXAMPLE = OpenApiExample(
    "Two values",
    value=[
        {
            "account": "CRM-001",
            "measure": "csm_sentiment",
            "raw_value": 3,
            "as_of": "2026-11-01",
            "source": "api",
            "comment": "Steady",
        },
        {"account": "CRM-001", "measure": "adoption", "raw_value": 0.62, "as_of": "2026-11-01"},
    ],
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(summary="Measure values of the accounts the caller may see"),
    create=extend_schema(
        summary="Push measure values, all or nothing, idempotent",
        description=(
            "One value or a list of up to 10,000. Every row is checked first; one bad row "
            "means none is written and the 400 lists every bad row with its index and field. "
            "Idempotent on (account, measure, as_of, source): the same payload again changes "
            "nothing; a changed raw value updates the value. Each score is computed from the "
            "raw value with the measure's mapping."
        ),
        request=one_or_many(serializers.MeasureValueInputSerializer, "MeasureValues"),
        responses={
            200: serializers.UpsertResultSerializer,
            201: serializers.UpsertResultSerializer,
        },
        examples=[MEASURE_VALUES_EXAMPLE],
    ),
)
class MeasureValueViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.MeasureValueSerializer
    filterset_class = MeasureValueFilterSet
    pagination_class = CursorListPagination
    api_key_scope = ApiKey.Scope.WRITE_MEASURES

    def get_queryset(self) -> QuerySet[MeasureValue]:
        visible = accounts_visible_to(user=self.request.user)
        return MeasureValue.objects.filter(account__in=visible).select_related("account", "measure")

    def create(self, request: Request, *args, **kwargs) -> Response:
        rows = request.data if isinstance(request.data, list) else [request.data]
        rows_check_size(rows)
        result = ingestion.measure_values_ingest(rows=rows, user=request.user)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(result.as_dict(), status=code)


def _query(serializer_class, request: Request) -> dict:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class AccountScoreView(APIView):
    @extend_schema(
        summary="An account's score with its full breakdown",
        description="The latest score (the current one) when no date is given.",
        parameters=[serializers.ScoreQuerySerializer],
        responses={200: serializers.ScoreSerializer},
    )
    @conditional_get(SCORES, ACCOUNTS, SCORECARDS)
    def get(self, request: Request, lookup: str) -> Response:
        account = account_visible_for_lookup(request, lookup)
        as_of = _query(serializers.ScoreQuerySerializer, request).get("date")
        return Response(scores.account_score_document(account=account, as_of=as_of))


RESCORING_ROLES = frozenset({roles.CS_LEADER, roles.CS_OPS})


def _may_rescore(request: Request, account: Account) -> bool:
    """The account's owner, a CS leader, CS Ops, or an API key with write:measures (its scope
    is checked by ApiKeyScope; its owner must see the account, which the lookup ensures)."""
    if isinstance(request.auth, ApiKey):
        return True
    user = request.user
    return bool(
        user.is_superuser or account.owner_id == user.pk or roles.user_roles(user) & RESCORING_ROLES
    )


class AccountScoreRecomputeView(APIView):
    """Rescore one account now: its score for today, made current at once, and its risks
    evaluated again (through accounts.services.accounts_changed_notify)."""

    api_key_scope = ApiKey.Scope.WRITE_MEASURES
    write_permissions = {"POST": []}  # who may is _may_rescore's business

    @extend_schema(
        summary="Rescore one account now and return the fresh score",
        description="The owner, a CS leader, CS Ops, or an API key with write:measures.",
        request=None,
        responses={200: serializers.ScoreSerializer},
    )
    def post(self, request: Request, lookup: str) -> Response:
        account = account_visible_for_lookup(request, lookup)
        if not _may_rescore(request, account):
            raise PermissionDenied("Only the account's owner, a CS leader or CS Ops rescore it.")
        account_rescore(account=account, as_of=timezone.localdate(), user=request.user)
        accounts_changed_notify(account_ids=[account.pk])
        snapshot = scores.account_snapshot(account=account, as_of=None)
        return Response(scores.score_document(account=account, snapshot=snapshot))


class AccountScoreHistoryView(APIView):
    @extend_schema(
        summary="An account's scores over a date range",
        parameters=[serializers.ScoreHistoryQuerySerializer],
        responses={200: serializers.ScoreHistorySerializer},
    )
    @conditional_get(SCORES, ACCOUNTS, SCORECARDS)
    def get(self, request: Request, lookup: str) -> Response:
        account = account_visible_for_lookup(request, lookup)
        query = _query(serializers.ScoreHistoryQuerySerializer, request)
        first, last = query.get("from"), query.get("to")
        if first and last and first > last:
            raise ValidationError({"from": ["from must not be after to."]})
        return Response(scores.score_history(account=account, first=first, last=last))


class AccountScoreChangesView(APIView):
    @extend_schema(
        summary="What changed: each measure's share of the score change (rule 11)",
        description=(
            "Between the score on `since` and the score of `date`, made by the same "
            "scorecard version (rule 13: the earlier day is rescored when its snapshot is "
            "missing or of another version): each measure's contribution then and now, and "
            "an override's effect (rule 12), largest change first. The changes add up "
            "exactly to score_to − score_from."
        ),
        parameters=[serializers.ScoreChangesQuerySerializer],
        responses={200: serializers.ScoreChangesSerializer},
    )
    @conditional_get(SCORES, ACCOUNTS, SCORECARDS)
    def get(self, request: Request, lookup: str) -> Response:
        account = account_visible_for_lookup(request, lookup)
        query = _query(serializers.ScoreChangesQuerySerializer, request)
        try:
            document = scores.score_changes_document(
                account=account, since=query.get("since"), as_of=query.get("date")
            )
        except scores.NotScored as problem:
            raise ValidationError({"since": [str(problem)]}) from None
        return Response(document)


def _scorecard_body(scorecard: Scorecard) -> dict:
    return {"id": scorecard.pk, "version": scorecard.version, **scorecard_to_document(scorecard)}


@extend_schema_view(
    list=extend_schema(summary="Every scorecard, as documents"),
    retrieve=extend_schema(summary="One scorecard as a document"),
    create=extend_schema(
        summary="Create a scorecard from a whole document (CS Ops)",
        request=serializers.ScorecardDocumentSerializer,
        responses={201: serializers.ScorecardSerializer},
    ),
    update=extend_schema(
        summary="Replace a scorecard's whole definition (CS Ops); a new version is recorded",
        request=serializers.ScorecardDocumentSerializer,
        responses={200: serializers.ScorecardSerializer},
    ),
)
class ScorecardViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Read by everyone; written whole by CS Ops, with the admin's rules (validation.py)."""

    http_method_names = ["get", "post", "put", "head", "options"]
    queryset = Scorecard.objects.order_by("priority", "name")
    serializer_class = serializers.ScorecardSerializer
    filter_backends: list = []

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([_scorecard_body(card) for card in page])

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return Response(_scorecard_body(self.get_object()))

    def create(self, request: Request, *args, **kwargs) -> Response:
        document = serializers.ScorecardDocumentSerializer(data=request.data)
        document.is_valid(raise_exception=True)
        scorecard = ingestion.scorecard_document_save(
            document=document.validated_data, user=request.user
        )
        return Response(_scorecard_body(scorecard), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        scorecard = self.get_object()
        document = serializers.ScorecardDocumentSerializer(data=request.data)
        document.is_valid(raise_exception=True)
        # Config as code publishes at once, with a publish's guarantees: the next version,
        # today's rescore of the accounts concerned, and scorecard.published.
        publishing.scorecard_publish_document(
            scorecard=scorecard,
            document=request.data,
            user=request.user,
            note="Saved through the API.",
            allow_unchanged=True,
        )
        scorecard.refresh_from_db()
        return Response(_scorecard_body(scorecard))


class PortfolioView(APIView):
    @extend_schema(
        summary="Portfolio rollups: accounts and ARR by band, average score, ARR at risk",
        description="Over the accounts the caller may see; grouped by owner, segment, region "
        "or tier when asked; for the latest scores or a date.",
        parameters=[serializers.PortfolioQuerySerializer],
        responses={200: serializers.PortfolioSerializer},
    )
    @conditional_get(SCORES, ACCOUNTS, SCORECARDS)
    def get(self, request: Request) -> Response:
        query = _query(serializers.PortfolioQuerySerializer, request)
        return Response(
            rollups.portfolio_rollup(
                accounts=accounts_visible_to(user=request.user),
                group_by=query.get("group_by"),
                as_of=query.get("date"),
            )
        )


@extend_schema_view(
    list=extend_schema(summary="Score runs, latest first"),
    retrieve=extend_schema(summary="One run's progress and result"),
    create=extend_schema(
        summary="Start a recompute of every active account for a date (CS Ops)",
        request=serializers.ScoreRunStartSerializer,
        responses={202: serializers.ScoreRunSerializer},
    ),
)
class RecomputeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = ScoreRun.objects.order_by("-created_at", "-id")
    serializer_class = serializers.ScoreRunSerializer
    filterset_class = ScoreRunFilterSet
    write_permissions = {"create": ["scorecards.add_scorerun"]}

    def create(self, request: Request, *args, **kwargs) -> Response:
        start = serializers.ScoreRunStartSerializer(data=request.data)
        start.is_valid(raise_exception=True)
        as_of = start.validated_data.get("date") or timezone.localdate()
        run = score_run_start(as_of=as_of, user=request.user)
        return Response(serializers.ScoreRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class MayBacktest(BasePermission):
    """Backtests are for CS Ops and CS leaders, to start as to read (the backtest page's rule,
    learning_selectors.may_backtest); no model permission is involved."""

    message = "Backtests are for CS Ops and CS leaders."

    def has_permission(self, request: Request, view) -> bool:
        return learning_selectors.may_backtest(request.user)


BACKTEST_RUN_EXAMPLE = OpenApiExample(
    "A 90-day backtest", value={"scorecard": 1, "horizon_days": 90}, request_only=True
)
BACKTEST_RUN_STARTED_EXAMPLE = OpenApiExample(
    "Started",
    value={
        "id": 7,
        "scorecard": 1,
        "horizon_days": 90,
        "status": "pending",
        "progress": 0,
        "stage": "",
        "result": None,
        "error": "",
        "requested_by": "ops",
        "created_at": "2026-11-20T09:00:00Z",
        "started_at": None,
        "finished_at": None,
    },
    response_only=True,
    status_codes=["202"],
)
BACKTEST_RUN_RUNNING_EXAMPLE = OpenApiExample(
    "Under way",
    value={
        **BACKTEST_RUN_STARTED_EXAMPLE.value,
        "status": "running",
        "progress": 60,
        "stage": "Fitting suggested weights",
        "started_at": "2026-11-20T09:00:01Z",
    },
    response_only=True,
    status_codes=["200"],
)


@extend_schema_view(
    list=extend_schema(summary="Backtest runs, latest first (CS Ops and CS leaders)"),
    retrieve=extend_schema(
        summary="One backtest run's progress, and its report once finished",
        examples=[BACKTEST_RUN_RUNNING_EXAMPLE],
    ),
    create=extend_schema(
        summary="Start a backtest and optimizer run for a scorecard (CS Ops and CS leaders)",
        description=(
            "Each renewal outcome of the scorecard's accounts is scored `horizon_days` before "
            "its renewal; a worker computes the backtest and the suggested weights. Answers "
            "202 with the pending run: follow its progress at `backtest-runs/{id}/`. "
            "A suggestion changes nothing until CS Ops publish it as a draft."
        ),
        request=serializers.BacktestRunStartSerializer,
        responses={202: serializers.BacktestRunSerializer},
        examples=[BACKTEST_RUN_EXAMPLE, BACKTEST_RUN_STARTED_EXAMPLE],
    ),
)
class BacktestRunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """For CS Ops and CS leaders. An API key may read runs (with the read scope) but not
    start one: no key scope covers it, as for recomputes; sign in to start a run."""

    queryset = BacktestRun.objects.select_related("requested_by").order_by("-created_at", "-id")
    serializer_class = serializers.BacktestRunSerializer
    filterset_class = BacktestRunFilterSet
    permission_classes = [MayBacktest, ApiKeyScope]

    def create(self, request: Request, *args, **kwargs) -> Response:
        start = serializers.BacktestRunStartSerializer(data=request.data)
        start.is_valid(raise_exception=True)
        run = runs.backtest_run_start(
            scorecard=start.validated_data["scorecard"],
            horizon_days=start.validated_data["horizon_days"],
            user=request.user,
        )
        body = serializers.BacktestRunSerializer(run).data
        return Response(body, status=status.HTTP_202_ACCEPTED)
