from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from front.views.home import favicon, home, login
from healthscore import metrics
from healthscore.api import api_not_found
from healthscore.health import health_view

admin.site.site_header = "Healthscore administration"
admin.site.site_title = "Healthscore administration"
admin.site.index_title = "Scorecards, rules and schedules"

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("scorecards.api.urls")),
    path("", include("metrics.api.urls")),
    path("", include("risk.api.urls")),
    path("", include("events.api.urls")),
    path("", include("playbooks.api.urls")),
    re_path(r"^[\s\S]*$", api_not_found),  # [\s\S], not ".": a path with a newline too
]

# Swagger UI with its script as a file of its own (the split view): no inline script, as the
# Content-Security-Policy asks. Behind the login page unless API_DOCS_PUBLIC.
api_docs = SpectacularSwaggerSplitView.as_view(url_name="api-schema")
if not settings.API_DOCS_PUBLIC:
    api_docs = login_required(api_docs)

urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("login/", login, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("front.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("health/", health_view(), name="health"),
    # /metrics for Prometheus (django-prometheus' export), behind METRICS_TOKEN.
    path("metrics", metrics.metrics_view, name="prometheus-django-metrics"),
]

metrics.portfolio_collector_register()
