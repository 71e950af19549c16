from rest_framework.routers import SimpleRouter

from metrics.api import views

router = SimpleRouter()
router.register("metrics", views.MetricViewSet, basename="metric")
router.register("metric-values", views.MetricValueViewSet, basename="metric-value")

urlpatterns = router.urls
