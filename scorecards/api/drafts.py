"""Scorecard drafts, publish and rollback (PRODUCT.md "Changing a scorecard safely").

Reading a draft or its preview is for CS Ops and CS leaders; creating, editing, publishing,
discarding and rolling back are for CS Ops (and superusers): everyone else gets 403. An API
key may not change scorecards (no scope covers it)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from accounts.models import ApiKey
from scorecards.api.serializers import ScorecardDocumentSerializer
from scorecards.learning import selectors as learning_selectors
from scorecards.models import Scorecard, ScorecardDraft
from scorecards.services import drafts, publishing


def is_cs_ops(user) -> bool:
    return bool(user and user.is_authenticated) and (
        user.is_superuser or roles.CS_OPS in roles.user_roles(user)
    )


class ChangesScorecards(BasePermission):
    """Reads: CS Ops and CS leaders. Writes: CS Ops only, signed in (not with an API key)."""

    message = "Only CS Ops change scorecards."

    def has_permission(self, request: Request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method in SAFE_METHODS:
            return learning_selectors.may_backtest(request.user)
        return is_cs_ops(request.user) and not isinstance(request.auth, ApiKey)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "scorecard_moved_on"


class DraftSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    scorecard = serializers.IntegerField()
    based_on_version = serializers.IntegerField()
    document = serializers.JSONField()


class PublishSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class RollbackSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class PublishedSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The new version's number.")
    run = serializers.IntegerField(help_text="The rescore run: follow it at recompute/{id}/.")


class PreviewSerializer(serializers.Serializer):
    date = serializers.DateField()
    matrix = serializers.ListField(child=serializers.DictField())
    movers = serializers.ListField(child=serializers.DictField())
    backtest = serializers.DictField()


def draft_body(draft: ScorecardDraft) -> dict:
    return {
        "id": draft.pk,
        "scorecard": draft.scorecard_id,
        "based_on_version": draft.base_version,
        "document": draft.definition,
    }


def published_body(published: publishing.Published) -> dict:
    return {"version": published.version.number, "run": published.run.pk}


def _document(request: Request):
    if not isinstance(request.data, dict):
        raise serializers.ValidationError({"document": ["Send a scorecard document (an object)."]})
    return request.data


def _publish(action) -> Response:
    try:
        published = action()
    except publishing.ScorecardMovedOn as moved:
        raise Conflict(moved.message) from None
    return Response(published_body(published), status=status.HTTP_202_ACCEPTED)


class ScorecardDraftCreateView(APIView):
    permission_classes = [ChangesScorecards]

    @extend_schema(
        summary="Open a draft of a scorecard from a whole document (CS Ops)",
        description="Saved even when the document breaks rules; publishing lists them.",
        request=ScorecardDocumentSerializer,
        responses={201: DraftSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        scorecard = get_object_or_404(Scorecard, pk=pk)
        draft = publishing.scorecard_draft_open(
            scorecard=scorecard, document=_document(request), user=request.user
        )
        return Response(draft_body(draft), status=status.HTTP_201_CREATED)


class ScorecardDraftView(APIView):
    permission_classes = [ChangesScorecards]

    @extend_schema(summary="A draft and its document", responses={200: DraftSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(draft_body(get_object_or_404(ScorecardDraft, pk=pk)))

    @extend_schema(
        summary="Replace a draft's document (CS Ops)",
        request=ScorecardDocumentSerializer,
        responses={200: DraftSerializer},
    )
    def put(self, request: Request, pk: int) -> Response:
        draft = get_object_or_404(ScorecardDraft, pk=pk)
        draft = publishing.scorecard_draft_save(draft=draft, document=_document(request))
        return Response(draft_body(draft))

    @extend_schema(summary="Discard a draft (CS Ops)", responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        drafts.scorecard_draft_discard(draft=get_object_or_404(ScorecardDraft, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScorecardDraftPreviewView(APIView):
    permission_classes = [ChangesScorecards]

    @extend_schema(
        summary="A draft's impact on the latest date and its backtest beside the published one",
        responses={200: PreviewSerializer},
    )
    def get(self, request: Request, pk: int) -> Response:
        draft = get_object_or_404(ScorecardDraft.objects.select_related("scorecard"), pk=pk)
        report = drafts.scorecard_draft_preview(draft=draft)
        backtest = report["backtest"] or {}
        return Response(
            {
                "date": report["as_of"],
                "matrix": report["matrix"],
                "movers": [
                    {
                        "account": mover["external_id"],
                        "from": mover["current"]["overall"],
                        "to": mover["draft"]["overall"],
                        "change": mover["change"],
                        "measures": mover["measures"],
                    }
                    for mover in report["movers"]
                ],
                "backtest": {
                    "published": backtest.get("current"),
                    "draft": backtest.get("draft"),
                    "n_outcomes": backtest.get("n_outcomes"),
                },
            }
        )


class ScorecardDraftPublishView(APIView):
    permission_classes = [ChangesScorecards]

    @extend_schema(
        summary="Publish a draft as the next version and rescore in the background (CS Ops)",
        description="409 when the scorecard moved on since the draft was made: rebase it.",
        request=PublishSerializer,
        responses={202: PublishedSerializer},
        examples=[OpenApiExample("Note", value={"note": "More weight on adoption"})],
    )
    def post(self, request: Request, pk: int) -> Response:
        draft = get_object_or_404(ScorecardDraft.objects.select_related("scorecard"), pk=pk)
        body = PublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return _publish(
            lambda: publishing.scorecard_draft_publish_document(
                draft=draft, user=request.user, note=body.validated_data["note"]
            )
        )


class ScorecardRollbackView(APIView):
    permission_classes = [ChangesScorecards]

    @extend_schema(
        summary="Publish an earlier version again, as the next version (CS Ops)",
        request=RollbackSerializer,
        responses={202: PublishedSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        scorecard = get_object_or_404(Scorecard, pk=pk)
        body = RollbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return _publish(
            lambda: publishing.scorecard_rollback(
                scorecard=scorecard,
                number=body.validated_data["version"],
                user=request.user,
                note=body.validated_data["note"],
            )
        )
