from rest_framework.routers import SimpleRouter

from playbooks.api import views

router = SimpleRouter()
router.register("playbooks", views.PlaybookViewSet, basename="playbook")
router.register("tasks", views.TaskViewSet, basename="task")

urlpatterns = router.urls
