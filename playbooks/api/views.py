from django.db.models import Prefetch, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from healthscore.api import OrderingFilter
from playbooks import services
from playbooks.api import serializers
from playbooks.filtersets import PlaybookFilterSet, TaskFilterSet
from playbooks.models import Playbook, PlaybookStep, Task
from playbooks.selectors import tasks_visible_to


@extend_schema_view(
    list=extend_schema(summary="Playbooks: the steps each risk type's risks become"),
    retrieve=extend_schema(summary="One playbook"),
    create=extend_schema(summary="Create a playbook (CS Ops)"),
    update=extend_schema(summary="Replace a playbook and its steps (CS Ops)"),
    partial_update=extend_schema(summary="Change a playbook (CS Ops)"),
    destroy=extend_schema(summary="Delete a playbook (CS Ops); its tasks stay"),
)
class PlaybookViewSet(viewsets.ModelViewSet):
    """Everyone signed in reads playbooks; CS Ops (add/change/delete_playbook) write them."""

    queryset = Playbook.objects.prefetch_related(
        Prefetch("steps", queryset=PlaybookStep.objects.order_by("position", "id"))
    )
    serializer_class = serializers.PlaybookSerializer
    filterset_class = PlaybookFilterSet

    def perform_create(self, serializer) -> None:
        serializer.instance = services.playbook_save(**_playbook_fields(serializer))

    def perform_update(self, serializer) -> None:
        fields = _playbook_fields(serializer, instance=serializer.instance)
        serializer.instance = services.playbook_save(playbook=serializer.instance, **fields)


def _playbook_fields(serializer, instance: Playbook | None = None) -> dict:
    data = serializer.validated_data
    current = serializers.PlaybookSerializer(instance).data if instance else {}

    def value(name: str, source: str | None = None):
        source = source or name
        return data[source] if source in data else current.get(name)

    return {
        "name": value("name"),
        "risk_type": value("risk_type"),
        "min_severity": value("min_severity") or "",
        "segments": value("segments") or [],
        "steps": [dict(step) for step in value("steps") or []],
        "is_active": value("active", "is_active"),
    }


@extend_schema_view(
    list=extend_schema(summary="Tasks of the accounts the caller may see"),
    retrieve=extend_schema(summary="One task"),
)
class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.TaskSerializer
    filterset_class = TaskFilterSet
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["due_on", "id", "completed_at"]
    ordering = ["due_on", "id"]
    write_permissions = {"complete": ["playbooks.change_task"], "skip": ["playbooks.change_task"]}

    def get_queryset(self) -> QuerySet[Task]:
        return tasks_visible_to(user=self.request.user).select_related("account", "risk")

    def get_serializer_class(self):
        if self.action in ("complete", "skip"):
            return serializers.TaskNoteSerializer
        return super().get_serializer_class()

    @extend_schema(
        summary="Mark a task done, with an optional note",
        description="The first task done on a risk moves the risk to mitigating.",
        request=serializers.TaskNoteSerializer,
        responses={200: serializers.TaskSerializer},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        return self._finish(request, services.task_complete)

    @extend_schema(
        summary="Skip a task; the note saying why is required",
        request=serializers.TaskNoteSerializer,
        responses={200: serializers.TaskSerializer},
    )
    @action(detail=True, methods=["post"])
    def skip(self, request: Request, pk: str) -> Response:
        return self._finish(request, services.task_skip)

    def _finish(self, request: Request, service) -> Response:
        task = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        task = service(task=task, user=request.user, note=body.validated_data["note"])
        return Response(serializers.TaskSerializer(task).data, status=status.HTTP_200_OK)
