from rest_framework.routers import SimpleRouter

from risk.api import views

router = SimpleRouter()
router.register("risks", views.RiskViewSet, basename="risk")

urlpatterns = router.urls
