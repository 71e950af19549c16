from rest_framework.routers import SimpleRouter

from accounts.api import views

router = SimpleRouter()
router.register("accounts", views.AccountViewSet, basename="account")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("touchpoints", views.TouchpointViewSet, basename="touchpoint")
router.register("renewal-outcomes", views.RenewalOutcomeViewSet, basename="renewal-outcome")

urlpatterns = router.urls
