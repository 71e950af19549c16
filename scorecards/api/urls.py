from rest_framework.routers import SimpleRouter

from scorecards.api import views

router = SimpleRouter()
router.register("measure-values", views.MeasureValueViewSet, basename="measure-value")

urlpatterns = router.urls
