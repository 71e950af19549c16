from django.urls import path
from rest_framework.routers import SimpleRouter

from scorecards.api import drafts, views

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
    path(
        "scorecards/<int:pk>/drafts/",
        drafts.ScorecardDraftCreateView.as_view(),
        name="scorecard-drafts",
    ),
    path(
        "scorecards/<int:pk>/rollback/",
        drafts.ScorecardRollbackView.as_view(),
        name="scorecard-rollback",
    ),
    path("scorecard-drafts/<int:pk>/", drafts.ScorecardDraftView.as_view(), name="scorecard-draft"),
    path(
        "scorecard-drafts/<int:pk>/preview/",
        drafts.ScorecardDraftPreviewView.as_view(),
        name="scorecard-draft-preview",
    ),
    path(
        "scorecard-drafts/<int:pk>/publish/",
        drafts.ScorecardDraftPublishView.as_view(),
        name="scorecard-draft-publish",
    ),
    *router.urls,
]
