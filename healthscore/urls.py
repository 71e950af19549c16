from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from front.views.home import favicon, home
from healthscore.api import api_not_found

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
    re_path(r"^.*$", api_not_found),
]

urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("front.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
