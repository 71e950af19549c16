from django.urls import path
from rest_framework.routers import SimpleRouter

from scorecards.api import views

router = SimpleRouter()
router.register("measure-values", views.MeasureValueViewSet, basename="measure-value")
router.register("scorecards", views.ScorecardViewSet, basename="scorecard")
router.register("recompute", views.RecomputeViewSet, basename="recompute")
router.register("backtest-runs", views.BacktestRunViewSet, basename="backtest-run")

urlpatterns = [
    path("accounts/<str:lookup>/score/", views.AccountScoreView.as_view(), name="account-score"),
    path(
        "accounts/<str:lookup>/score/recompute/",
        views.AccountScoreRecomputeView.as_view(),
        name="account-score-recompute",
    ),
    path(
        "accounts/<str:lookup>/score/history/",
        views.AccountScoreHistoryView.as_view(),
        name="account-score-history",
    ),
    path(
        "accounts/<str:lookup>/score/changes/",
        views.AccountScoreChangesView.as_view(),
        name="account-score-changes",
    ),
    path("portfolio/", views.PortfolioView.as_view(), name="portfolio"),
    *router.urls,
]
