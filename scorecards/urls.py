from django.urls import path

from scorecards import views

app_name = "scorecards"

urlpatterns = [
    path("portfolio/", views.portfolio, name="portfolio"),
    path("portfolio.csv", views.portfolio_csv, name="portfolio-csv"),
    path("scorecards/<int:pk>/backtest/", views.scorecard_backtest, name="backtest"),
    path("scorecards/<int:pk>/backtest/run/", views.scorecard_backtest_run, name="backtest-run"),
    path("scorecards/<int:pk>/drafts/", views.scorecard_draft_open, name="draft-open"),
    path(
        "scorecards/backtest-runs/<int:pk>/", views.backtest_run_progress, name="backtest-progress"
    ),
    path("scorecards/drafts/<int:pk>/", views.draft_detail, name="draft"),
    path("scorecards/drafts/<int:pk>/publish/", views.draft_publish, name="draft-publish"),
    path("scorecards/drafts/<int:pk>/discard/", views.draft_discard, name="draft-discard"),
]
