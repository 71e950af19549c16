from rest_framework.routers import SimpleRouter

from events.api import views

router = SimpleRouter()
router.register("webhooks", views.WebhookEndpointViewSet, basename="webhook")
router.register(
    r"webhooks/(?P<webhook_pk>[0-9]+)/deliveries",
    views.WebhookDeliveryViewSet,
    basename="webhook-delivery",
)

urlpatterns = router.urls
